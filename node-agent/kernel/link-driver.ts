import type { LinkChanges as NetlinkLinkChanges } from '../netlink';
import type { BridgeSpec, VxlanSpec } from './vni-devices';

// What the device reconciler reads and writes in the kernel; kernel-link-driver.ts implements it
// over rtnetlink.
export interface KernelLink {
  index: number;
  name: string;
  // IFLA_INFO_KIND: 'vxlan', 'bridge', 'dummy', ... (undefined for physical devices).
  kind: string | undefined;
  mtu: number;
  up: boolean;
  master: number | undefined;
  alias: string | undefined;
  vxlan?: {
    id: number;
    local: string | undefined;
    group: string | undefined;
    port: number;
    learning: boolean;
    external: boolean;
    underlayIndex: number | undefined;
  };
  mac?: string;
}

export interface BridgePortOptions {
  learning: boolean;
  neighSuppress: boolean;
}

// The in-place changes the device reconciler makes: a subset of what rtnetlink can change.
export type LinkChanges = Pick<NetlinkLinkChanges, 'mtu' | 'mac' | 'up' | 'master' | 'alias'>;

export interface LinkDriver {
  listLinks(): Promise<KernelLink[]>;
  getLink(name: string): Promise<KernelLink | undefined>;
  createVxlan(spec: VxlanSpec): Promise<void>;
  createBridge(spec: BridgeSpec): Promise<void>;
  setLink(link: KernelLink, changes: LinkChanges): Promise<void>;
  deleteLink(link: KernelLink): Promise<void>;
  bridgePortOptions(link: KernelLink): Promise<BridgePortOptions | undefined>;
  setBridgePortOptions(link: KernelLink, options: BridgePortOptions): Promise<void>;
}
