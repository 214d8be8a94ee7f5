import { Rtnetlink } from '../netlink';
import type { InsideInterface } from './cni-attachments';

// A container's interface as its own namespace sees it, for CHECK.
export async function insideInterface(netns: string, ifname: string): Promise<InsideInterface | undefined> {
  const inside = Rtnetlink.open({ netns });
  try {
    const link = await inside.links.get(ifname);
    if (!link) return undefined;
    const addresses = (await inside.addresses.list()).filter((a) => a.ifindex === link.index).map((a) => a.cidr);
    return { mac: link.mac, up: link.up, addresses };
  } finally {
    inside.close();
  }
}
