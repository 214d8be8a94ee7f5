import * as C from './constants';
import { attrString, attrU32, attrU64BE, attrU8, parseAttributes } from './attributes';
import { bytesToIp, splitPrefix } from './address-bytes';
import { NetlinkDecodeError } from './errors';
import { MessageWriter } from './message-writer';
import { NetlinkSocket } from './socket';

// What a rule does with a packet it selects: look the route up in a table, or drop it there.
export type RuleAction = 'lookup' | 'blackhole' | 'unreachable' | 'prohibit' | 'other';
const ACTIONS: Array<[RuleAction, number]> = [
  ['lookup', C.FR_ACT_TO_TBL],
  ['blackhole', C.FR_ACT_BLACKHOLE],
  ['unreachable', C.FR_ACT_UNREACHABLE],
  ['prohibit', C.FR_ACT_PROHIBIT],
];

// A policy routing (FIB) rule, as `ip rule` shows it: a selector, a priority and an action. Rules are
// per family: an IPv4 rule never sees IPv6 packets.
export interface Rule {
  family: 4 | 6;
  priority: number;
  action: RuleAction;
  // The table a 'lookup' rule sends the packet to.
  table?: number;
  // Selectors; an unset one matches everything.
  // Incoming interface by name ('lo': packets this host sends itself); the rule outlives the interface.
  iif?: string;
  oif?: string;
  // Destination and source prefixes, e.g. 10.42.0.0/24.
  dst?: string;
  src?: string;
  // The tunnel key a packet was decapsulated with by an `external` (collect_md) tunnel device.
  tunId?: bigint;
  protocol?: number;
}

const FIB_RULE_HDR_LEN = 12;
const familyCode = (family: 4 | 6) => (family === 4 ? C.AF_INET : C.AF_INET6);

// A delete names every selector of the rule: the kernel removes the first rule matching all it is told.
export function encodeRule(type: number, flags: number, r: Rule): Buffer {
  const dst = r.dst === undefined ? undefined : splitPrefix(r.dst);
  const src = r.src === undefined ? undefined : splitPrefix(r.src);
  const table = r.table ?? 0;
  const w = new MessageWriter(type, flags, 128);
  w.u8(familyCode(r.family))
    .u8(dst?.length ?? 0)
    .u8(src?.length ?? 0)
    .u8(0)
    .u8(table < 256 ? table : 0)
    .u8(0)
    .u8(0)
    .u8(ACTIONS.find(([name]) => name === r.action)?.[1] ?? 0)
    .u32(0);
  w.attrU32(C.FRA_PRIORITY, r.priority);
  if (r.table !== undefined) w.attrU32(C.FRA_TABLE, r.table);
  if (dst) w.attr(C.FRA_DST, dst.address);
  if (src) w.attr(C.FRA_SRC, src.address);
  if (r.iif !== undefined) w.attrString(C.FRA_IIFNAME, r.iif);
  if (r.oif !== undefined) w.attrString(C.FRA_OIFNAME, r.oif);
  if (r.tunId !== undefined) w.attrU64BE(C.FRA_TUN_ID, r.tunId);
  if (r.protocol !== undefined) w.attrU8(C.FRA_PROTOCOL, r.protocol);
  return w.finish();
}

export function decodeRule(payload: Buffer): Rule {
  if (payload.length < FIB_RULE_HDR_LEN)
    throw new NetlinkDecodeError(`rule message of ${payload.length} bytes is shorter than fib_rule_hdr`);
  const family = payload[0];
  if (family !== C.AF_INET && family !== C.AF_INET6)
    throw new NetlinkDecodeError(`rule message of address family ${family}, not IPv4 or IPv6`);
  const attrs = parseAttributes(payload, FIB_RULE_HDR_LEN);
  const prefix = (attr: number, length: number) => {
    const bytes = attrs[attr];
    return bytes ? `${bytesToIp(bytes)}/${length}` : undefined;
  };
  const action = ACTIONS.find(([, n]) => n === payload[7])?.[0] ?? 'other';
  return withoutUnset({
    family: family === C.AF_INET ? 4 : 6,
    priority: attrU32(attrs[C.FRA_PRIORITY]) ?? 0,
    action,
    table: action === 'lookup' ? (attrU32(attrs[C.FRA_TABLE]) ?? payload[4]) : undefined,
    iif: attrString(attrs[C.FRA_IIFNAME]),
    oif: attrString(attrs[C.FRA_OIFNAME]),
    dst: prefix(C.FRA_DST, payload[1]),
    src: prefix(C.FRA_SRC, payload[2]),
    tunId: attrU64BE(attrs[C.FRA_TUN_ID]),
    protocol: attrU8(attrs[C.FRA_PROTOCOL]),
  });
}

// A rule holds only the selectors it has, as `ip rule` shows only those.
const withoutUnset = (r: Rule): Rule =>
  Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as Rule;

const describe = (r: Rule) =>
  `IPv${r.family} rule ${r.priority}${r.iif ? ` iif ${r.iif}` : ''}${r.tunId !== undefined ? ` tun_id ${r.tunId}` : ''}${
    r.dst ? ` to ${r.dst}` : ''
  } ${r.action}${r.table !== undefined ? ` ${r.table}` : ''}`;

export class RuleOps {
  constructor(private readonly socket: NetlinkSocket) {}

  // Rules cannot be replaced; an identical rule is refused (EEXIST) rather than added twice.
  async add(r: Rule): Promise<void> {
    await this.socket.request(encodeRule(C.RTM_NEWRULE, C.NLM_F_CREATE | C.NLM_F_EXCL, r), {
      operation: 'add',
      object: describe(r),
    });
  }

  async delete(r: Rule): Promise<void> {
    await this.socket.request(encodeRule(C.RTM_DELRULE, 0, r), { operation: 'delete', object: describe(r) });
  }

  async list(family: 4 | 6): Promise<Rule[]> {
    const w = new MessageWriter(C.RTM_GETRULE, C.NLM_F_DUMP);
    w.u8(familyCode(family)).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0);
    return this.socket.dump(w.finish(), { operation: 'dump', object: `IPv${family} rules` }, C.RTM_NEWRULE, decodeRule);
  }
}
