import * as os from 'node:os';
import { isIP } from 'node:net';
import type { LinkDriver } from './link-driver';
import type { Underlay } from './vni-devices';

// The interface that holds the VTEP address carries the tunnels; its MTU bounds the overlay's.
export async function findUnderlay(vtep: string, driver: LinkDriver): Promise<Underlay> {
  const family = isIP(vtep) as 4 | 6;
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    if (!(addresses ?? []).some((a) => a.address === vtep)) continue;
    const link = await driver.getLink(name);
    if (!link) continue;
    return { ifindex: link.index, name, mtu: link.mtu, family };
  }
  throw new Error(
    `no interface has the VTEP address ${vtep}; give --vtep an address of this host's underlay interface`,
  );
}
