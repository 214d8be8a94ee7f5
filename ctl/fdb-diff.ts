import { FLOOD_MAC } from '../common/fdb-state/record';

// How a VNI forwards, which decides what a host's kernel must hold for it: an L2 VNI floods by
// head-end replication (flood entries per remote VTEP) or by a multicast group (none); an L3 VNI
// routes with lightweight-tunnel routes, or with the BPF datapath's maps (not compared here).
export type VniKind = 'l2-head-end' | 'l2-multicast' | 'l3-routes' | 'l3-bpf';

// One entry of the server's view: the winning claim of a MAC (unicast) or a member's VTEP (flood).
export interface ServedEntry {
  vni: number;
  mac: string;
  vtep: string;
  node: string;
  flood: boolean;
  // The winning claim's addresses (neighbours on L2, routes on L3).
  ips: string[];
}

// What a host's kernel holds (KernelEntry): kind vxlan, bridge, neighbour, route or local.
export interface HeldEntry {
  vni: number;
  kind: string;
  mac: string;
  vtep: string;
  ip: string;
}

export type Problem = 'missing' | 'extra' | 'different';

export interface Difference {
  node: string;
  vni: number;
  // The kernel table: vxlan (MAC -> VTEP), bridge (MAC -> vxlan port), neighbour (IP -> MAC), route (IP -> VTEP).
  kind: string;
  // The MAC or address the entry is for.
  key: string;
  problem: Problem;
  // What the server's view wants there and what the kernel holds ('' for none).
  server: string;
  kernel: string;
}

// An entry reduced to what identifies it (kind and key) and what it says (value). Flood entries
// are one per VTEP, so their VTEP identifies them too.
interface Slot {
  vni: number;
  kind: string;
  key: string;
  value: string;
}

const slotId = (s: Slot) => `${s.vni}|${s.kind}|${s.key}|${s.key === FLOOD_MAC ? s.value : ''}`;
const address = (ip: string) => ip.split('/')[0];

function wantedSlots(host: string, kinds: ReadonlyMap<number, VniKind>, served: ServedEntry[]): Slot[] {
  const out: Slot[] = [];
  for (const e of served) {
    const kind = kinds.get(e.vni);
    // The host's own endpoints and its own flood entry are local: no remote entry for them.
    if (kind === undefined || kind === 'l3-bpf' || e.node === host) continue;
    if (kind === 'l3-routes') {
      if (!e.flood) for (const ip of e.ips) out.push({ vni: e.vni, kind: 'route', key: address(ip), value: e.vtep });
    } else if (e.flood) {
      if (kind === 'l2-head-end') out.push({ vni: e.vni, kind: 'vxlan', key: FLOOD_MAC, value: e.vtep });
    } else {
      out.push({ vni: e.vni, kind: 'vxlan', key: e.mac, value: e.vtep });
      out.push({ vni: e.vni, kind: 'bridge', key: e.mac, value: '' });
      for (const ip of e.ips) out.push({ vni: e.vni, kind: 'neighbour', key: address(ip), value: e.mac });
    }
  }
  return out;
}

function heldSlot(e: HeldEntry): Slot | undefined {
  switch (e.kind) {
    case 'vxlan':
      return { vni: e.vni, kind: 'vxlan', key: e.mac, value: e.vtep };
    case 'bridge':
      return { vni: e.vni, kind: 'bridge', key: e.mac, value: '' };
    case 'neighbour':
      return { vni: e.vni, kind: 'neighbour', key: e.ip, value: e.mac };
    case 'route':
      return { vni: e.vni, kind: 'route', key: e.ip, value: e.vtep };
    default:
      // Local MACs are the host's own endpoints, announced by it rather than programmed from the view.
      return undefined;
  }
}

export interface HostView {
  host: string;
  // Every VNI the server configures (within the filter), with its forwarding.
  configured: ReadonlyMap<number, VniKind>;
  // The VNIs the host realised (within the filter).
  realised: readonly number[];
  held: HeldEntry[];
}

const order = (d: Difference) => `${String(d.vni).padStart(8, '0')}|${d.kind}|${d.key}|${d.kernel}`;

// What differs between the server's view and one host's kernel: a configured VNI the host has not
// realised (kind 'vni'), and for the VNIs it realised every entry missing, extra or with another
// value. A unicast MAC held with a second VTEP is 'different' once and 'extra' for each further
// VTEP. Sorted by VNI, kind and key.
export function diffHost(view: HostView, served: ServedEntry[]): Difference[] {
  const { host, configured, realised, held } = view;
  const kinds = new Map([...configured].filter(([vni]) => realised.includes(vni)));
  const want = new Map(wantedSlots(host, kinds, served).map((s) => [slotId(s), s]));
  const have = new Map<string, Slot[]>();
  for (const e of held) {
    const s = heldSlot(e);
    if (!s || kinds.get(s.vni) === 'l3-bpf') continue;
    const id = slotId(s);
    have.set(id, [...(have.get(id) ?? []), s]);
  }
  const out: Difference[] = [];
  const diff = (s: Slot, problem: Problem, server: string, kernel: string) =>
    out.push({ node: host, vni: s.vni, kind: s.kind, key: s.key, problem, server, kernel });
  for (const vni of configured.keys())
    if (!realised.includes(vni)) diff({ vni, kind: 'vni', key: String(vni), value: '' }, 'missing', 'realised', '');
  for (const [id, w] of want) {
    const found = have.get(id) ?? [];
    if (found.length === 0) diff(w, 'missing', w.value, '');
    else if (!found.some((h) => h.value === w.value)) diff(w, 'different', w.value, found[0].value);
    const matched = found.find((h) => h.value === w.value) ?? found[0];
    for (const h of found) if (h !== matched) diff(h, 'extra', '', h.value);
  }
  for (const [id, found] of have) if (!want.has(id)) for (const h of found) diff(h, 'extra', '', h.value);
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
