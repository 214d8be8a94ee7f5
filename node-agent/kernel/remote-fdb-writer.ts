import type { Logger } from '../../common/log';
import { FLOOD_MAC } from '../../common/fdb-state/record';
import type { DesiredRemote } from '../state/remote-view';
import { FdbEntry, Neighbour, RTPROT_VXGOSSIP, Rtnetlink, NetlinkError } from '../netlink';
import { KernelConflict, foreignNeighbour } from './foreign-entries';
import type { VniPorts } from './realised-vnis';

// A remote endpoint whose entry this pass wrote: its record's origin time gives the latency from
// announcement to programming.
export interface ProgrammedEndpoint {
  vni: number;
  mac: string;
  owner: string;
  originTimeMs: number;
}

export interface FdbPassResult {
  programmedNow: ProgrammedEndpoint[];
  // errno names of the requests the kernel refused.
  errorCodes: string[];
  added: number;
  removed: number;
  // Per VNI: entries wanted and entries confirmed in the kernel after the pass.
  perVni: Map<number, { desired: number; programmed: number }>;
  // Neighbours wanted where the kernel holds one that is not ours: not written.
  conflicts: KernelConflict[];
}

// What we own in the kernel, so a sweep can never touch an operator's entry: every remote (dst)
// entry on our vxlan devices (the kernel keeps no protocol tag on FDB entries, but the device is
// ours), extern_learn entries the bridge holds for our vxlan port, and neighbours tagged with our
// protocol on our bridges. An operator's neighbour is not ours to replace either.
interface KernelView {
  vxlan: Map<string, FdbEntry>;
  bridge: Map<string, FdbEntry>;
  neighbours: Map<string, Neighbour>;
}

const vxlanKey = (e: { mac: string; dst?: string }) => `${e.mac}>${e.dst}`;

// Reconciles remote endpoints and flood lists (the gossip view) against the kernel, FRR-zebra
// style: read what is there, write only the difference, delete only what we own. A pass never
// flushes, so a restart with a correct kernel changes nothing and drops no packet.
export class RemoteFdbWriter {
  constructor(
    private readonly rt: Rtnetlink,
    private readonly log: Logger,
  ) {}

  // sweep: false during a restart's grace period, while gossip refills what we desire: entries not
  // (yet) desired stay, so traffic keeps flowing (FRR's graceful restart).
  async reconcile(vnis: VniPorts[], remote: DesiredRemote, sweep: boolean): Promise<FdbPassResult> {
    const result: FdbPassResult = {
      programmedNow: [],
      errorCodes: [],
      added: 0,
      removed: 0,
      perVni: new Map(),
      conflicts: [],
    };
    const origins = new Map<string, ProgrammedEndpoint>();
    const byVni = new Map(vnis.map((v) => [v.vni, v]));
    const want = new Map<number, KernelView>(
      vnis.map((v) => [v.vni, { vxlan: new Map(), bridge: new Map(), neighbours: new Map() }]),
    );

    for (const flood of remote.floods) {
      const ports = byVni.get(flood.vni);
      if (!ports?.headEnd) continue;
      const e: FdbEntry = { ifindex: ports.vxlanIndex, mac: FLOOD_MAC, dst: flood.vtep, self: true };
      want.get(flood.vni)!.vxlan.set(vxlanKey(e), e);
    }
    for (const ep of remote.endpoints) {
      const ports = byVni.get(ep.body.vni);
      if (!ports) continue;
      const view = want.get(ep.body.vni)!;
      const e: FdbEntry = { ifindex: ports.vxlanIndex, mac: ep.body.mac, dst: ep.body.vtep, self: true };
      view.vxlan.set(vxlanKey(e), e);
      origins.set(`${ep.body.vni}/${vxlanKey(e)}`, {
        vni: ep.body.vni,
        mac: ep.body.mac,
        owner: ep.owner,
        originTimeMs: ep.originTimeMs,
      });
      // The bridge learns nothing from the vxlan port (learning off): tell it where the MAC is.
      view.bridge.set(ep.body.mac, {
        ifindex: ports.vxlanIndex,
        mac: ep.body.mac,
        masterFlag: true,
        externLearn: true,
      });
      for (const ip of ep.body.ips) {
        const address = ip.split('/')[0];
        // neigh_suppress answers ARP/ND from the bridge's neighbour table: no broadcast crosses the underlay.
        view.neighbours.set(address, {
          ifindex: ports.bridgeIndex,
          ip: address,
          mac: ep.body.mac,
          state: 'permanent',
          protocol: RTPROT_VXGOSSIP,
        });
      }
    }

    for (const ports of vnis) {
      const desired = want.get(ports.vni)!;
      const count = desired.vxlan.size + desired.bridge.size + desired.neighbours.size;
      try {
        const { kernel, foreign } = await this.read(ports);
        let held = 0;
        for (const [ip, found] of foreign) {
          if (!desired.neighbours.delete(ip)) continue;
          held++;
          result.conflicts.push({ vni: ports.vni, kind: 'neigh', address: ip, found });
        }
        const { written, failedWrites } = await this.apply(
          ports,
          desired,
          sweep ? kernel : withoutStale(kernel, desired),
          result,
        );
        for (const key of written) {
          const origin = origins.get(`${ports.vni}/${key}`);
          if (origin) result.programmedNow.push(origin);
        }
        // Every write the kernel acknowledged is in place: no second dump to count them.
        result.perVni.set(ports.vni, { desired: count, programmed: count - held - failedWrites });
      } catch (err) {
        result.perVni.set(ports.vni, { desired: count, programmed: 0 });
        this.log.error('cannot program the FDB of a VNI; other VNIs are unaffected', {
          vni: ports.vni,
          error: (err as Error).message,
        });
      }
    }
    return result;
  }

  // What we own, and what holds the neighbours on the bridge that are not ours (by address).
  private async read(ports: VniPorts): Promise<{ kernel: KernelView; foreign: Map<string, string> }> {
    const view: KernelView = { vxlan: new Map(), bridge: new Map(), neighbours: new Map() };
    const foreign = new Map<string, string>();
    for (const e of await this.rt.fdb.list(ports.vxlanIndex)) {
      if (e.ifindex !== ports.vxlanIndex) continue;
      if (e.self && e.dst !== undefined) view.vxlan.set(vxlanKey(e), e);
      // The bridge's entries for our port carry NDA_MASTER, not the NTF_MASTER flag: a request about
      // one needs the flag to reach the bridge's table (as `bridge fdb del ... master`), not the port's.
      else if (!e.self && e.externLearn) view.bridge.set(e.mac, { ifindex: e.ifindex, mac: e.mac, masterFlag: true });
    }
    for (const family of [4, 6] as const) {
      for (const n of await this.rt.neighbours.list(family, ports.bridgeIndex)) {
        if (n.ifindex !== ports.bridgeIndex) continue;
        const found = foreignNeighbour(n);
        if (n.protocol === RTPROT_VXGOSSIP) view.neighbours.set(n.ip, n);
        else if (found) foreign.set(n.ip, found);
      }
    }
    return { kernel: view, foreign };
  }

  // Returns the keys of the unicast vxlan entries written successfully, and how many desired
  // entries the kernel refused.
  private async apply(
    ports: VniPorts,
    desired: KernelView,
    kernel: KernelView,
    result: FdbPassResult,
  ): Promise<{ written: string[]; failedWrites: number }> {
    const addVxlan = [...desired.vxlan.values()].filter((e) => !kernel.vxlan.has(vxlanKey(e)));
    const delVxlan = [...kernel.vxlan.values()].filter((e) => !desired.vxlan.has(vxlanKey(e)));
    const addBridge = [...desired.bridge.values()].filter((e) => {
      const k = kernel.bridge.get(e.mac);
      return !k || k.ifindex !== e.ifindex;
    });
    const delBridge = [...kernel.bridge.values()].filter((e) => !desired.bridge.has(e.mac));
    const setNeigh = [...desired.neighbours.values()].filter((n) => kernel.neighbours.get(n.ip)?.mac !== n.mac);
    const delNeigh = [...kernel.neighbours.values()].filter((n) => !desired.neighbours.has(n.ip));

    // Unicast MACs have one remote: a moved MAC is replaced in place (no window without an entry).
    // Flood entries accumulate one per VTEP, so they are appended.
    const moved = addVxlan.filter((e) => e.mac !== FLOOD_MAC);
    const floods = addVxlan.filter((e) => e.mac === FLOOD_MAC);
    const movedMacs = new Set(moved.map((e) => e.mac));
    // A replaced MAC's old entry is gone with the replace; deleting it again would fail.
    const staleVxlan = delVxlan.filter((e) => e.mac === FLOOD_MAC || !movedMacs.has(e.mac));

    const outcomes = await Promise.all([
      this.rt.fdb.addMany(moved, 'replace'),
      this.rt.fdb.addMany(floods, 'append'),
      this.rt.fdb.addMany(addBridge, 'replace'),
      this.rt.neighbours.addMany(setNeigh, 'replace'),
    ]);
    const removals = await Promise.all([
      this.rt.fdb.deleteMany(staleVxlan),
      this.rt.fdb.deleteMany(delBridge),
      this.rt.neighbours.deleteMany(delNeigh),
    ]);
    const errors = [...outcomes.flat(), ...removals.flat()].filter((e): e is Error => e !== undefined);
    // An entry that vanished between our read and our delete is what we wanted anyway.
    const real = errors.filter((e) => NetlinkError.codeOf(e) !== 'ENOENT');
    result.added += moved.length + floods.length + addBridge.length + setNeigh.length;
    result.removed += staleVxlan.length + delBridge.length + delNeigh.length;
    for (const e of real) result.errorCodes.push(NetlinkError.codeOf(e) ?? 'unknown');
    if (real.length > 0) {
      this.log.error('kernel refused FDB changes', { vni: ports.vni, failed: real.length, first: real[0].message });
    }
    const written = moved.filter((_, i) => outcomes[0][i] === undefined).map(vxlanKey);
    const changed =
      addVxlan.length + addBridge.length + setNeigh.length + staleVxlan.length + delBridge.length + delNeigh.length;
    if (changed > 0) {
      this.log.info('fdb changes written', {
        vni: ports.vni,
        vxlanAdded: addVxlan.length,
        vxlanRemoved: staleVxlan.length,
        bridgeAdded: addBridge.length,
        bridgeRemoved: delBridge.length,
        neighboursSet: setNeigh.length,
        neighboursRemoved: delNeigh.length,
      });
    }
    const failedWrites = outcomes.flat().filter((e) => e !== undefined).length;
    return { written, failedWrites };
  }
}

// The kernel view minus what is not desired, so apply() deletes nothing.
function withoutStale(kernel: KernelView, desired: KernelView): KernelView {
  const keep = <V>(m: Map<string, V>, want: Map<string, unknown>) => new Map([...m].filter(([k]) => want.has(k)));
  return {
    vxlan: keep(kernel.vxlan, desired.vxlan),
    bridge: keep(kernel.bridge, desired.bridge),
    neighbours: keep(kernel.neighbours, desired.neighbours),
  };
}
