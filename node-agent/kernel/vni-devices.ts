import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { l3Gateway } from '../../common/l3-subnet';
import type { VniConfig } from '../../common/vni';

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
  // 0 for the shared L3 device, which is `external`: the VNI travels with each route.
  vni: number;
  external: boolean;
  // Fixed for the L3 device (see L3_ROUTER_MAC); the kernel picks one otherwise.
  mac?: string;
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

// L3 VNIs share one external (collect_md) vxlan device per UDP port: the kernel allows only one.
export const l3DeviceName = (dstport: number) => `vxl3-${dstport}`;
export const L3_ALIAS_PREFIX = 'vxgossip:l3port=';
// A host's L3 device MAC is derived from its VTEP, so every peer can address routed frames to it
// without learning anything, and it survives reboots. It must differ per host: the vxlan driver
// drops frames whose source MAC is its own (loop protection).
export function l3RouterMac(vtep: string): string {
  const bytes = isIPv4(vtep)
    ? Buffer.from(vtep.split('.').map(Number))
    : createHash('sha1').update(vtep).digest().subarray(0, 4);
  return ['02', '76', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export const vxlanName = (vni: number) => `vxlan${vni}`;
export const bridgeName = (vni: number) => `br${vni}`;
export const ownerAlias = (vni: number) => `${OWNER_ALIAS_PREFIX}${vni}`;

export function ownedVni(alias: string | undefined): number | undefined {
  if (!alias?.startsWith(OWNER_ALIAS_PREFIX)) return undefined;
  const vni = Number(alias.slice(OWNER_ALIAS_PREFIX.length));
  return Number.isInteger(vni) && vni > 0 ? vni : undefined;
}

export function ownedL3Port(alias: string | undefined): number | undefined {
  if (!alias?.startsWith(L3_ALIAS_PREFIX)) return undefined;
  const port = Number(alias.slice(L3_ALIAS_PREFIX.length));
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

export class DeviceSpecError extends Error {}

function overlayMtu(vni: VniConfig, underlay: Underlay): number {
  const overhead = underlay.family === 4 ? VXLAN_OVERHEAD_V4 : VXLAN_OVERHEAD_V6;
  const ceiling = underlay.mtu - overhead;
  if (vni.mtu > ceiling) {
    throw new DeviceSpecError(
      `VNI ${vni.id} MTU ${vni.mtu} needs an underlay MTU of at least ${vni.mtu + overhead}, but ${underlay.name} has ${underlay.mtu}`,
    );
  }
  return vni.mtu === 0 ? ceiling : vni.mtu;
}

// The shared device L3 VNIs on one UDP port route through; its MTU is the underlay's ceiling (each
// VNI's MTU applies to its endpoints' veths).
export function l3Device(dstport: number, vtep: string, underlay: Underlay): VxlanSpec {
  const overhead = underlay.family === 4 ? VXLAN_OVERHEAD_V4 : VXLAN_OVERHEAD_V6;
  return {
    name: l3DeviceName(dstport),
    vni: 0,
    external: true,
    mac: l3RouterMac(vtep),
    local: vtep,
    dstport,
    underlayIndex: underlay.ifindex,
    group: '',
    mtu: underlay.mtu - overhead,
    alias: `${L3_ALIAS_PREFIX}${dstport}`,
  };
}

// The devices an L2 VNI needs on this host. The MTU defaults to what the underlay can carry, and a
// configured MTU the underlay cannot carry is refused instead of dropping large packets silently.
// L3 VNIs use l3Device instead.
export function vniDevices(vni: VniConfig, vtep: string, underlay: Underlay): VniDevices {
  const mtu = overlayMtu(vni, underlay);
  return {
    vxlan: {
      name: vxlanName(vni.id),
      vni: vni.id,
      external: false,
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

// Where an endpoint of a VNI plugs in: br<VNI> (L2, as a port), or the L3 device (routed, through
// the VNI's gateway).
export interface AttachPoint {
  device: string;
  routed?: { vni: number; subnet: string; gateway: string };
}

export function attachPointOf(vnis: VniConfig[], vni: number): AttachPoint | undefined {
  const config = vnis.find((v) => v.id === vni);
  if (!config) return undefined;
  return config.mode === 'l3'
    ? {
        device: l3DeviceName(config.dstport),
        routed: { vni, subnet: config.subnet, gateway: l3Gateway(config.subnet) },
      }
    : { device: bridgeName(vni) };
}
