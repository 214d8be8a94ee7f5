import { VNI_MAX, VNI_MIN } from '../../common/validation';
import { RTPROT_VXGOSSIP, Rule } from '../netlink';
import type { L3Vni } from './realised-vnis';

// Each L3 VNI is a routing domain of its own: a routing table, and policy rules that steer into it
// what comes from the VNI's endpoints and from the tunnel with the VNI's key. Without a VRF driver,
// these rules are the whole isolation: nothing a domain's lookup misses falls through to another
// table, since every domain's table ends in a blackhole default route.

// The table of VNI v is VNI_TABLE_BASE + v: VNI 100 routes in table 1000000100, so the VNI reads in
// the number. VNIs are 24-bit, so the range (1000000001-1016777215) is one-to-one, far from the
// kernel's reserved tables (0 unspec, 253 default, 254 main, 255 local) and from the small numbers
// operators pick. A table in that range is taken as vxgossip's: if another program routes in one too,
// we write and sweep only our routes (protocol tag) there, a route of theirs for an address we route
// is left alone and reported as a conflict, and their other routes apply to that VNI.
export const VNI_TABLE_BASE = 1_000_000_000;

export function vniTable(vni: number): number {
  if (!Number.isInteger(vni) || vni < VNI_MIN || vni > VNI_MAX) throw new RangeError(`${vni} is not a VNI`);
  return VNI_TABLE_BASE + vni;
}

// The VNI whose table this is; undefined for any other table.
export function vniOfTable(table: number | undefined): number | undefined {
  const vni = (table ?? 0) - VNI_TABLE_BASE;
  return vni >= VNI_MIN && vni <= VNI_MAX ? vni : undefined;
}

// Our rules' priorities: after the kernel's local table (0), before main (32766). Rules of one
// priority have disjoint selectors, so their order does not matter.
export const RULE_PRIORITY = {
  // Traffic from an endpoint's veth.
  endpoint: 770,
  // Traffic the L3 device decapsulated with the VNI's key.
  tunnel: 771,
  // Traffic to the subnet that the host sends itself (ICMP errors such as "fragmentation needed")
  // or that leaves through the tunnel (the reverse-path filter looks the source up with the
  // outgoing device as the incoming one): routed in the domain, never by main.
  subnet: 772,
  // Anything else the L3 device decapsulated (a VNI not realised here): dropped.
  unknownVni: 773,
} as const;

export const isOurRule = (r: Rule) => r.protocol === RTPROT_VXGOSSIP;

// A local endpoint's veth, by the VNI it belongs to.
export interface EndpointPort {
  vni: number;
  hostInterface: string;
}

const familyOf = (subnet: string): 4 | 6 => (subnet.includes(':') ? 6 : 4);
const BOTH: Array<4 | 6> = [4, 6];

// The rules the realised L3 VNIs and their local endpoints call for, each with the VNI it serves
// (0 for the drops). Both families are steered whatever the subnet's: an IPv4 domain's endpoint must
// not reach another domain, or main, over IPv6 either. `orphans`: the veths of attached endpoints
// whose VNI is not realised here (deleted, or failed): what they send is dropped, not routed by main.
export function domainRules(
  vnis: L3Vni[],
  endpoints: EndpointPort[],
  orphans: string[] = [],
): Array<Rule & { vni: number }> {
  const rule = (vni: number, family: 4 | 6, priority: number, selector: Partial<Rule>): Rule & { vni: number } => ({
    vni,
    family,
    priority,
    action: vni === 0 ? 'blackhole' : 'lookup',
    ...(vni === 0 ? {} : { table: vniTable(vni) }),
    ...selector,
    protocol: RTPROT_VXGOSSIP,
  });
  const byVni = new Map(vnis.map((v) => [v.vni, v]));
  const rules: Array<Rule & { vni: number }> = [];
  for (const e of endpoints) {
    if (!byVni.has(e.vni)) continue;
    for (const f of BOTH) rules.push(rule(e.vni, f, RULE_PRIORITY.endpoint, { iif: e.hostInterface }));
  }
  for (const v of vnis) {
    for (const f of BOTH) rules.push(rule(v.vni, f, RULE_PRIORITY.tunnel, { iif: v.device, tunId: BigInt(v.vni) }));
    for (const iif of [v.device, 'lo'])
      rules.push(rule(v.vni, familyOf(v.subnet), RULE_PRIORITY.subnet, { iif, dst: v.subnet }));
  }
  for (const device of new Set(vnis.map((v) => v.device)))
    for (const f of BOTH) rules.push(rule(0, f, RULE_PRIORITY.unknownVni, { iif: device }));
  for (const veth of orphans) for (const f of BOTH) rules.push(rule(0, f, RULE_PRIORITY.endpoint, { iif: veth }));
  return rules;
}

// Identifies a rule by everything we select and do with it.
export const ruleKey = (r: Rule) =>
  [r.family, r.priority, r.action, r.table ?? '', r.iif ?? '', r.tunId ?? '', r.dst ?? ''].join('|');
