import type { BridgePortOptions, KernelLink, LinkChanges, LinkDriver } from './link-driver';
import type { Link, Rtnetlink } from '../netlink';
import type { BridgeSpec, VxlanSpec } from './vni-devices';

function toKernelLink(link: Link): KernelLink {
  const out: KernelLink = {
    index: link.index,
    name: link.name,
    kind: link.kind,
    mtu: link.mtu,
    up: link.up,
    master: link.master,
    alias: link.alias,
    mac: link.mac,
  };
  if (link.vxlan) {
    out.vxlan = {
      id: link.vxlan.id ?? 0,
      local: link.vxlan.local,
      group: link.vxlan.group,
      port: link.vxlan.port ?? 0,
      learning: link.vxlan.learning ?? false,
      external: link.vxlan.external ?? false,
      underlayIndex: link.vxlan.dev,
    };
  }
  return out;
}

// The device reconciler's view of the kernel, over our rtnetlink socket.
export class KernelLinkDriver implements LinkDriver {
  constructor(private readonly rt: Rtnetlink) {}

  async listLinks(): Promise<KernelLink[]> {
    return (await this.rt.links.list()).map(toKernelLink);
  }

  async getLink(name: string): Promise<KernelLink | undefined> {
    const link = await this.rt.links.get(name);
    return link && toKernelLink(link);
  }

  async createVxlan(spec: VxlanSpec): Promise<void> {
    await this.rt.links.create({
      name: spec.name,
      kind: 'vxlan',
      mtu: spec.mtu,
      alias: spec.alias,
      mac: spec.mac,
      vxlan: {
        id: spec.external ? undefined : spec.vni,
        external: spec.external || undefined,
        local: spec.local,
        dev: spec.underlayIndex,
        port: spec.dstport,
        group: spec.group || undefined,
        learning: false,
      },
    });
  }

  async createBridge(spec: BridgeSpec): Promise<void> {
    await this.rt.links.create({ name: spec.name, kind: 'bridge', mtu: spec.mtu, alias: spec.alias });
  }

  async setLink(link: KernelLink, changes: LinkChanges): Promise<void> {
    await this.rt.links.change(link, changes);
  }

  async deleteLink(link: KernelLink): Promise<void> {
    await this.rt.links.delete(link);
  }

  async bridgePortOptions(link: KernelLink): Promise<BridgePortOptions | undefined> {
    return (await this.rt.links.get(link.index))?.bridgePort;
  }

  async setBridgePortOptions(link: KernelLink, options: BridgePortOptions): Promise<void> {
    await this.rt.links.setBridgePort(link, options);
  }
}
