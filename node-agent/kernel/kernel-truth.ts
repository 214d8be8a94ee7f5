import type { KernelEntry } from '../../generated/vxgossip/v1/KernelEntry';
import { RTPROT_VXGOSSIP, Rtnetlink } from '../netlink';
import { vniOfTable } from './l3-domain';
import type { RealisedVnis, VniPorts } from './realised-vnis';

export type TruthEntry = Required<KernelEntry>;

// The order pages follow; a page token is the key of the last entry sent, so a page boundary holds
// even when the kernel changes between pages.
export const truthKey = (e: TruthEntry): string =>
  [String(e.vni).padStart(8, '0'), e.kind, e.mac, e.ip, e.vtep].join('|');

const entry = (vni: number, kind: string, x: Partial<TruthEntry>): TruthEntry => ({
  vni,
  kind,
  mac: x.mac ?? '',
  vtep: x.vtep ?? '',
  ip: x.ip ?? '',
});

// What the kernel holds for one L2 VNI: remote entries on the vxlan device, the bridge's entries
// (ours on the vxlan port, learned ones behind local ports) and our neighbours on the bridge.
async function readL2(rt: Rtnetlink, ports: VniPorts): Promise<TruthEntry[]> {
  const out: TruthEntry[] = [];
  for (const e of await rt.fdb.list(ports.vxlanIndex)) {
    if (e.ifindex !== ports.vxlanIndex) continue;
    if (e.self && e.dst !== undefined) out.push(entry(ports.vni, 'vxlan', { mac: e.mac, vtep: e.dst }));
    else if (!e.self && e.externLearn) out.push(entry(ports.vni, 'bridge', { mac: e.mac }));
  }
  for (const e of await rt.fdb.listOfBridge(ports.bridgeIndex)) {
    // As the local endpoint scan: permanent entries are the bridge's and its ports' own addresses.
    const local =
      !e.self && e.master === ports.bridgeIndex && e.ifindex !== ports.vxlanIndex && e.state !== 'permanent';
    if (local && !e.externLearn) out.push(entry(ports.vni, 'local', { mac: e.mac }));
  }
  for (const family of [4, 6] as const)
    for (const n of await rt.neighbours.list(family, ports.bridgeIndex))
      if (n.ifindex === ports.bridgeIndex && n.protocol === RTPROT_VXGOSSIP)
        out.push(entry(ports.vni, 'neighbour', { mac: n.mac, ip: n.ip }));
  return out;
}

// Our routes in the tables of the wanted L3 VNIs: endpoint address -> VTEP.
async function readL3(rt: Rtnetlink, vnis: ReadonlySet<number>): Promise<TruthEntry[]> {
  const out: TruthEntry[] = [];
  if (vnis.size === 0) return out;
  for (const family of [4, 6] as const)
    for (const r of await rt.routes.list(family)) {
      const vni = vniOfTable(r.table);
      if (vni === undefined || !vnis.has(vni) || r.protocol !== RTPROT_VXGOSSIP || !r.encap) continue;
      out.push(entry(vni, 'route', { ip: r.dst.split('/')[0], vtep: r.encap.dst }));
    }
  return out;
}

// Every entry the kernel holds for the realised VNIs (one, or all with vni 0), sorted by truthKey.
export async function readKernelTruth(rt: Rtnetlink, realised: RealisedVnis, vni: number): Promise<TruthEntry[]> {
  const wanted = (v: number) => vni === 0 || v === vni;
  const out: TruthEntry[] = [];
  for (const ports of realised.l2.filter((p) => wanted(p.vni))) out.push(...(await readL2(rt, ports)));
  out.push(...(await readL3(rt, new Set(realised.l3.map((v) => v.vni).filter(wanted)))));
  return out
    .map((e) => ({ e, key: truthKey(e) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ e }) => e);
}
