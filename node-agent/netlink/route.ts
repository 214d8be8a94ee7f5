import * as C from './constants';
import { Attributes, attrNested, attrU16, attrU16BE, attrU32, attrU64BE, attrU8, parseAttributes } from './attributes';
import { bytesToIp, ipToBytes, splitPrefix } from './address-bytes';
import { NetlinkDecodeError } from './errors';
import { MessageWriter } from './message-writer';
import { WriteMode, writeFlags } from './neigh-message';
import { NetlinkSocket } from './socket';

// Lightweight-tunnel encapsulation (`encap ip id 42 dst 192.0.2.1`): the route itself carries the
// tunnel key, sent through an `external` vxlan device.
export interface IpEncap {
  id: bigint;
  dst: string;
  src?: string;
  ttl?: number;
  tos?: number;
  // UDP checksum on the outer header; an IPv6 receiver drops zero checksums by default.
  csum?: boolean;
}

// rtm_type: what the kernel does with a match (unicast forwards; local delivers here; blackhole drops).
export type RouteType = 'unicast' | 'local' | 'blackhole' | 'unreachable' | 'prohibit' | 'other';
const ROUTE_TYPES: Array<[RouteType, number]> = [
  ['unicast', C.RTN_UNICAST],
  ['local', C.RTN_LOCAL],
  ['blackhole', C.RTN_BLACKHOLE],
  ['unreachable', C.RTN_UNREACHABLE],
  ['prohibit', C.RTN_PROHIBIT],
];
const SCOPES = { universe: C.RT_SCOPE_UNIVERSE, link: C.RT_SCOPE_LINK, host: C.RT_SCOPE_HOST };

export interface Route {
  // Destination prefix, e.g. 10.42.0.0/24 or 2001:db8::/64.
  dst: string;
  oif?: number;
  gateway?: string;
  prefsrc?: string;
  priority?: number;
  table?: number;
  protocol?: number;
  // Unicast unless said otherwise.
  type?: RouteType;
  // Universe unless said otherwise (host for local routes).
  scope?: keyof typeof SCOPES;
  onlink?: boolean;
  encap?: IpEncap;
}

const RTMSG_LEN = 12;

// A delete matches on what it names: unset protocol, scope and type match any, as with `ip route del`.
function scopeOf(r: Route, deleting: boolean): number {
  if (r.scope) return SCOPES[r.scope];
  if (deleting) return C.RT_SCOPE_NOWHERE;
  return r.type === 'local' ? C.RT_SCOPE_HOST : C.RT_SCOPE_UNIVERSE;
}

function typeOf(r: Route, deleting: boolean): number {
  const known = ROUTE_TYPES.find(([name]) => name === (r.type ?? (deleting ? undefined : 'unicast')));
  return known ? known[1] : 0;
}

export function encodeRoute(type: number, flags: number, r: Route): Buffer {
  const { address, length } = splitPrefix(r.dst);
  const table = r.table ?? C.RT_TABLE_MAIN;
  const deleting = type === C.RTM_DELROUTE;
  const w = new MessageWriter(type, flags, 160);
  w.u8(address.length === 4 ? C.AF_INET : C.AF_INET6)
    .u8(length)
    .u8(0)
    .u8(0)
    .u8(table < 256 ? table : 0)
    .u8(r.protocol ?? (deleting ? 0 : C.RTPROT_STATIC))
    .u8(scopeOf(r, deleting))
    .u8(typeOf(r, deleting))
    .u32(r.onlink ? C.RTNH_F_ONLINK : 0);
  w.attr(C.RTA_DST, address);
  if (table >= 256) w.attrU32(C.RTA_TABLE, table);
  if (r.oif !== undefined) w.attrU32(C.RTA_OIF, r.oif);
  if (r.gateway !== undefined) w.attr(C.RTA_GATEWAY, ipToBytes(r.gateway));
  if (r.prefsrc !== undefined) w.attr(C.RTA_PREFSRC, ipToBytes(r.prefsrc));
  if (r.priority !== undefined) w.attrU32(C.RTA_PRIORITY, r.priority);
  if (r.encap) {
    const v6 = r.encap.dst.includes(':');
    w.attrU16(C.RTA_ENCAP_TYPE, v6 ? C.LWTUNNEL_ENCAP_IP6 : C.LWTUNNEL_ENCAP_IP);
    const encap = w.nest(C.RTA_ENCAP);
    w.attrU64BE(C.LWTUNNEL_IP_ID, r.encap.id);
    w.attr(C.LWTUNNEL_IP_DST, ipToBytes(r.encap.dst));
    if (r.encap.src !== undefined) w.attr(C.LWTUNNEL_IP_SRC, ipToBytes(r.encap.src));
    // Same attribute numbers carry hoplimit/tclass for IPv6.
    if (r.encap.ttl !== undefined) w.attrU8(C.LWTUNNEL_IP_TTL, r.encap.ttl);
    if (r.encap.tos !== undefined) w.attrU8(C.LWTUNNEL_IP_TOS, r.encap.tos);
    if (r.encap.csum) w.attrU16BE(C.LWTUNNEL_IP_FLAGS, C.TUNNEL_CSUM);
    w.end(encap);
  }
  return w.finish();
}

function decodeEncap(type: number | undefined, attrs: Attributes | undefined): IpEncap | undefined {
  if (attrs === undefined || (type !== C.LWTUNNEL_ENCAP_IP && type !== C.LWTUNNEL_ENCAP_IP6)) return undefined;
  const dst = attrs[C.LWTUNNEL_IP_DST];
  const src = attrs[C.LWTUNNEL_IP_SRC];
  return {
    id: attrU64BE(attrs[C.LWTUNNEL_IP_ID]) ?? 0n,
    dst: dst ? bytesToIp(dst) : '',
    src: src ? bytesToIp(src) : undefined,
    ttl: attrU8(attrs[C.LWTUNNEL_IP_TTL]),
    tos: attrU8(attrs[C.LWTUNNEL_IP_TOS]),
    csum: ((attrU16BE(attrs[C.LWTUNNEL_IP_FLAGS]) ?? 0) & C.TUNNEL_CSUM) !== 0,
  };
}

export function decodeRoute(payload: Buffer): Route {
  if (payload.length < RTMSG_LEN)
    throw new NetlinkDecodeError(`route message of ${payload.length} bytes is shorter than rtmsg`);
  const family = payload[0];
  const attrs = parseAttributes(payload, RTMSG_LEN);
  const dst = attrs[C.RTA_DST];
  const any = family === C.AF_INET ? '0.0.0.0' : '::';
  const gateway = attrs[C.RTA_GATEWAY];
  const prefsrc = attrs[C.RTA_PREFSRC];
  return {
    dst: `${dst ? bytesToIp(dst) : any}/${payload[1]}`,
    table: attrU32(attrs[C.RTA_TABLE]) ?? payload[4],
    protocol: payload[5],
    type: ROUTE_TYPES.find(([, n]) => n === payload[7])?.[0] ?? 'other',
    scope: payload[6] === C.RT_SCOPE_LINK ? 'link' : payload[6] === C.RT_SCOPE_HOST ? 'host' : 'universe',
    onlink: (payload.readUInt32LE(8) & C.RTNH_F_ONLINK) !== 0,
    oif: attrU32(attrs[C.RTA_OIF]),
    gateway: gateway ? bytesToIp(gateway) : undefined,
    prefsrc: prefsrc ? bytesToIp(prefsrc) : undefined,
    priority: attrU32(attrs[C.RTA_PRIORITY]),
    encap: decodeEncap(attrU16(attrs[C.RTA_ENCAP_TYPE]), attrNested(attrs[C.RTA_ENCAP])),
  };
}

export class RouteOps {
  constructor(private readonly socket: NetlinkSocket) {}

  async add(r: Route, mode: WriteMode = 'add'): Promise<void> {
    await this.socket.request(encodeRoute(C.RTM_NEWROUTE, writeFlags(mode), r), {
      operation: mode,
      object: `route ${r.dst}`,
    });
  }

  async delete(r: Route): Promise<void> {
    await this.socket.request(encodeRoute(C.RTM_DELROUTE, 0, r), { operation: 'delete', object: `route ${r.dst}` });
  }

  async list(family: 4 | 6): Promise<Route[]> {
    const w = new MessageWriter(C.RTM_GETROUTE, C.NLM_F_DUMP);
    w.u8(family === 4 ? C.AF_INET : C.AF_INET6)
      .u8(0)
      .u8(0)
      .u8(0)
      .u8(0)
      .u8(0)
      .u8(0)
      .u8(0)
      .u32(0);
    return this.socket.dump(
      w.finish(),
      { operation: 'dump', object: `IPv${family} routes` },
      C.RTM_NEWROUTE,
      decodeRoute,
    );
  }
}
