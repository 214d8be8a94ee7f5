import type { VniConfig } from '../common/vni';

// IPv4 + UDP + VXLAN + inner Ethernet headers; IPv6's header is 20 bytes longer.
export const VXLAN_OVERHEAD_V4 = 50;
export const VXLAN_OVERHEAD_V6 = 70;
// Marks the links this agent created (IFLA_IFALIAS), so a sweep never removes an operator's device.
export const OWNER_ALIAS_PREFIX = 'vxgossip:vni=';

export interface Underlay {
  ifindex: number;
  name: string;
  mtu: number;
  family: 4 | 6;
}

export interface VxlanSpec {
  name: string;
  vni: number;
  local: string;
  dstport: number;
  underlayIndex: number;
  // Empty for head-end replication.
  group: string;
  mtu: number;
  alias: string;
}

export interface BridgeSpec {
  name: string;
  mtu: number;
  alias: string;
}

export interface VniDevices {
  vxlan: VxlanSpec;
  bridge: BridgeSpec;
}

export const vxlanName = (vni: number) => `vxlan${vni}`;
export const bridgeName = (vni: number) => `br${vni}`;
export const ownerAlias = (vni: number) => `${OWNER_ALIAS_PREFIX}${vni}`;

export function ownedVni(alias: string | undefined): number | undefined {
  if (!alias?.startsWith(OWNER_ALIAS_PREFIX)) return undefined;
  const vni = Number(alias.slice(OWNER_ALIAS_PREFIX.length));
  return Number.isInteger(vni) && vni > 0 ? vni : undefined;
}

export class DeviceSpecError extends Error {}

// The devices an L2 VNI needs on this host. The MTU defaults to what the underlay can carry, and a
// configured MTU the underlay cannot carry is refused instead of dropping large packets silently.
export function vniDevices(vni: VniConfig, vtep: string, underlay: Underlay): VniDevices {
  const overhead = underlay.family === 4 ? VXLAN_OVERHEAD_V4 : VXLAN_OVERHEAD_V6;
  const ceiling = underlay.mtu - overhead;
  if (vni.mtu > ceiling) {
    throw new DeviceSpecError(
      `VNI ${vni.id} MTU ${vni.mtu} needs an underlay MTU of at least ${vni.mtu + overhead}, but ${underlay.name} has ${underlay.mtu}`,
    );
  }
  const mtu = vni.mtu === 0 ? ceiling : vni.mtu;
  return {
    vxlan: {
      name: vxlanName(vni.id),
      vni: vni.id,
      local: vtep,
      dstport: vni.dstport,
      underlayIndex: underlay.ifindex,
      group: vni.multicastGroup,
      mtu,
      alias: ownerAlias(vni.id),
    },
    bridge: { name: bridgeName(vni.id), mtu, alias: ownerAlias(vni.id) },
  };
}
