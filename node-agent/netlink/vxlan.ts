import * as C from './constants';
import { Attributes, attrU16BE, attrU32, attrU32BE, attrU8 } from './attributes';
import { bytesToIp, ipToBytes } from './address-bytes';
import { MessageWriter } from './message-writer';
import { isMulticast } from '../../common/validation';

// Every option of `ip link add DEV type vxlan`. Unset fields are left to the kernel's defaults.
export interface VxlanOptions {
  id?: number;
  // Multicast group, or (remote) a single unicast peer: both travel as IFLA_VXLAN_GROUP[6].
  group?: string;
  remote?: string;
  local?: string;
  // Underlay device index (`dev`).
  dev?: number;
  ttl?: number;
  ttlInherit?: boolean;
  tos?: number;
  df?: 'unset' | 'set' | 'inherit';
  flowLabel?: number;
  port?: number;
  srcPortRange?: { min: number; max: number };
  learning?: boolean;
  proxy?: boolean;
  rsc?: boolean;
  l2miss?: boolean;
  l3miss?: boolean;
  udpCsum?: boolean;
  udp6ZeroCsumTx?: boolean;
  udp6ZeroCsumRx?: boolean;
  ageing?: number;
  maxAddress?: number;
  // Metadata mode (`external`): one device for many VNIs, the tunnel key comes with each packet/route.
  external?: boolean;
  gbp?: boolean;
  gpe?: boolean;
}

const DF = ['unset', 'set', 'inherit'] as const;

function bool(w: MessageWriter, type: number, value: boolean | undefined): void {
  if (value !== undefined) w.attrU8(type, value ? 1 : 0);
}

function address(w: MessageWriter, v4Type: number, v6Type: number, ip: string | undefined): void {
  if (ip === undefined) return;
  const bytes = ipToBytes(ip);
  w.attr(bytes.length === 4 ? v4Type : v6Type, bytes);
}

export function encodeVxlan(w: MessageWriter, o: VxlanOptions): void {
  if (o.id !== undefined) w.attrU32(C.IFLA_VXLAN_ID, o.id);
  if (o.group !== undefined && o.remote !== undefined)
    throw new TypeError('vxlan: group and remote are mutually exclusive');
  address(w, C.IFLA_VXLAN_GROUP, C.IFLA_VXLAN_GROUP6, o.group ?? o.remote);
  address(w, C.IFLA_VXLAN_LOCAL, C.IFLA_VXLAN_LOCAL6, o.local);
  if (o.dev !== undefined) w.attrU32(C.IFLA_VXLAN_LINK, o.dev);
  if (o.ttlInherit) w.attrFlag(C.IFLA_VXLAN_TTL_INHERIT);
  else if (o.ttl !== undefined) w.attrU8(C.IFLA_VXLAN_TTL, o.ttl);
  if (o.tos !== undefined) w.attrU8(C.IFLA_VXLAN_TOS, o.tos);
  if (o.df !== undefined) w.attrU8(C.IFLA_VXLAN_DF, DF.indexOf(o.df));
  if (o.flowLabel !== undefined) w.attrU32BE(C.IFLA_VXLAN_LABEL, o.flowLabel);
  if (o.port !== undefined) w.attrU16BE(C.IFLA_VXLAN_PORT, o.port);
  if (o.srcPortRange !== undefined) {
    const range = Buffer.alloc(4);
    range.writeUInt16BE(o.srcPortRange.min, 0);
    range.writeUInt16BE(o.srcPortRange.max, 2);
    w.attr(C.IFLA_VXLAN_PORT_RANGE, range);
  }
  bool(w, C.IFLA_VXLAN_LEARNING, o.learning);
  bool(w, C.IFLA_VXLAN_PROXY, o.proxy);
  bool(w, C.IFLA_VXLAN_RSC, o.rsc);
  bool(w, C.IFLA_VXLAN_L2MISS, o.l2miss);
  bool(w, C.IFLA_VXLAN_L3MISS, o.l3miss);
  bool(w, C.IFLA_VXLAN_UDP_CSUM, o.udpCsum);
  bool(w, C.IFLA_VXLAN_UDP_ZERO_CSUM6_TX, o.udp6ZeroCsumTx);
  bool(w, C.IFLA_VXLAN_UDP_ZERO_CSUM6_RX, o.udp6ZeroCsumRx);
  if (o.ageing !== undefined) w.attrU32(C.IFLA_VXLAN_AGEING, o.ageing);
  if (o.maxAddress !== undefined) w.attrU32(C.IFLA_VXLAN_LIMIT, o.maxAddress);
  bool(w, C.IFLA_VXLAN_COLLECT_METADATA, o.external);
  if (o.gbp) w.attrFlag(C.IFLA_VXLAN_GBP);
  if (o.gpe) w.attrFlag(C.IFLA_VXLAN_GPE);
}

const flag = (v: number | undefined) => (v === undefined ? undefined : v !== 0);

function ip(attrs: Attributes, v4Type: number, v6Type: number): string | undefined {
  const v4 = attrs[v4Type];
  if (v4 && v4.length === 4 && v4.readUInt32BE(0) !== 0) return bytesToIp(v4);
  const v6 = attrs[v6Type];
  if (v6 && v6.length === 16 && !v6.equals(Buffer.alloc(16))) return bytesToIp(v6);
  return undefined;
}

export function decodeVxlan(attrs: Attributes): VxlanOptions {
  const peer = ip(attrs, C.IFLA_VXLAN_GROUP, C.IFLA_VXLAN_GROUP6);
  const range = attrs[C.IFLA_VXLAN_PORT_RANGE];
  const df = attrU8(attrs[C.IFLA_VXLAN_DF]);
  const link = attrU32(attrs[C.IFLA_VXLAN_LINK]);
  return {
    id: attrU32(attrs[C.IFLA_VXLAN_ID]),
    group: peer !== undefined && isMulticast(peer) ? peer : undefined,
    remote: peer !== undefined && !isMulticast(peer) ? peer : undefined,
    local: ip(attrs, C.IFLA_VXLAN_LOCAL, C.IFLA_VXLAN_LOCAL6),
    dev: link === 0 ? undefined : link,
    ttl: attrU8(attrs[C.IFLA_VXLAN_TTL]),
    ttlInherit: attrs[C.IFLA_VXLAN_TTL_INHERIT] !== undefined,
    tos: attrU8(attrs[C.IFLA_VXLAN_TOS]),
    df: df === undefined ? undefined : DF[df],
    flowLabel: attrU32BE(attrs[C.IFLA_VXLAN_LABEL]),
    port: attrU16BE(attrs[C.IFLA_VXLAN_PORT]),
    srcPortRange: range && range.length >= 4 ? { min: range.readUInt16BE(0), max: range.readUInt16BE(2) } : undefined,
    learning: flag(attrU8(attrs[C.IFLA_VXLAN_LEARNING])),
    proxy: flag(attrU8(attrs[C.IFLA_VXLAN_PROXY])),
    rsc: flag(attrU8(attrs[C.IFLA_VXLAN_RSC])),
    l2miss: flag(attrU8(attrs[C.IFLA_VXLAN_L2MISS])),
    l3miss: flag(attrU8(attrs[C.IFLA_VXLAN_L3MISS])),
    udpCsum: flag(attrU8(attrs[C.IFLA_VXLAN_UDP_CSUM])),
    udp6ZeroCsumTx: flag(attrU8(attrs[C.IFLA_VXLAN_UDP_ZERO_CSUM6_TX])),
    udp6ZeroCsumRx: flag(attrU8(attrs[C.IFLA_VXLAN_UDP_ZERO_CSUM6_RX])),
    ageing: attrU32(attrs[C.IFLA_VXLAN_AGEING]),
    maxAddress: attrU32(attrs[C.IFLA_VXLAN_LIMIT]),
    external: flag(attrU8(attrs[C.IFLA_VXLAN_COLLECT_METADATA])),
    gbp: attrs[C.IFLA_VXLAN_GBP] !== undefined,
    gpe: attrs[C.IFLA_VXLAN_GPE] !== undefined,
  };
}
