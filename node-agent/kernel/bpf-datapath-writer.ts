import type { Logger } from '../../common/log';
import type { EndpointRecord } from '../../common/fdb-state/winner-rule';
import type { BpfDatapath, BpfMap, EncodedEntries } from '../bpf';
import { encodeEntries, syncEncoded } from '../bpf';
import { BpfAttachment, LocalBpfEndpoint, desiredBpf } from './bpf-desired';
import type { L3Vni } from './realised-vnis';

// What the writer needs of node-agent/bpf (a port: unit tests give maps in memory). Interfaces are
// this network namespace's, by ifindex.
export interface BpfKernel {
  open(): OpenedDatapath;
  // Whether an earlier run left pins behind (nothing is opened or mounted to tell).
  pinned(): boolean;
  removePins(): void;
  // Whether our program sits at the interface's ingress.
  carries(ifindex: number): boolean;
  detach(ifindex: number): void;
}

export type OpenedDatapath = Pick<
  BpfDatapath,
  'remoteEndpoints' | 'localEndpoints' | 'workloadInterfaces' | 'maps' | 'programs' | 'attach' | 'close' | 'pinDir'
>;

export interface BpfPassInput {
  // The realised L3 VNIs; only the bpf ones are programmed here.
  vnis: L3Vni[];
  local: LocalBpfEndpoint[];
  remote: EndpointRecord[];
  // False during a restart's grace period: nothing is removed, detached or unpinned.
  sweep: boolean;
  // Interfaces an earlier run may have attached to: every endpoint's veth and the L3 devices.
  candidates: () => Promise<number[]>;
}

export interface BpfPassResult {
  // Per BPF VNI: map entries wanted, and those the kernel holds after the pass.
  desired: Map<number, number>;
  programmed: Map<number, number>;
  written: number;
  removed: number;
  // What had changed out of band since the last pass and was written again.
  repaired: { entries: number; attachments: number };
  // Per BPF VNI: why it does not forward as desired (the datapath cannot load, a program cannot attach).
  errors: Map<number, string>;
}

// What a check compares the kernel against: the last pass's maps, encoded, and attachments.
interface Programmed {
  maps: Array<[BpfMap<unknown, unknown>, EncodedEntries]>;
  attachments: BpfAttachment[];
  remove: boolean;
}

// The BPF datapath of L3 VNIs (see node-agent/bpf): opened the first time a BPF VNI is realised (a
// host without one mounts, loads and pins nothing), its maps made to hold exactly the desired entries
// (only differences written), then its programs attached; programs on interfaces that no longer want
// them are detached, and when the last BPF VNI goes, so do the pins. The pins and attachments outlive
// the agent, so a restart forwards throughout; during its grace period nothing is removed.
export class BpfDatapathWriter {
  private datapath: OpenedDatapath | undefined;
  // Interfaces that may carry our program: found by a scan at the first sweep, then what we attached.
  private carrying: Set<number> | undefined;
  private programmed: Programmed | undefined;
  private lastError = '';

  constructor(
    private readonly kernel: BpfKernel,
    private readonly log: Logger,
  ) {}

  async reconcile(input: BpfPassInput): Promise<BpfPassResult> {
    const wanted = desiredBpf(input.vnis, input.local, input.remote);
    const result: BpfPassResult = {
      desired: wanted.perVni,
      programmed: new Map(),
      written: 0,
      removed: 0,
      repaired: { entries: 0, attachments: 0 },
      errors: new Map(),
    };
    if (wanted.perVni.size === 0) {
      if (input.sweep) await this.retire(input);
      return result;
    }
    const datapath = this.open();
    if (typeof datapath === 'string') {
      for (const vni of wanted.perVni.keys()) result.errors.set(vni, datapath);
      return result;
    }
    const vniOf = new Map<string, number>();
    const encode = <K, V>(
      map: BpfMap<K, V>,
      entries: Array<{ key: K; value: V }>,
      vni: (e: { key: K; value: V }) => number,
    ) => {
      const encoded = encodeEntries(map, entries);
      for (const e of entries) vniOf.set(map.codec.encodeKey(e.key).toString('hex'), vni(e));
      return [map, encoded] as [BpfMap<unknown, unknown>, EncodedEntries];
    };
    // Maps before programs: a program never runs on an interface its entries do not describe yet.
    const programmed: Programmed = {
      maps: [
        encode(datapath.workloadInterfaces, wanted.interfaces, (e) => e.value.vni),
        encode(datapath.localEndpoints, wanted.local, (e) => e.key.vni),
        encode(datapath.remoteEndpoints, wanted.remote, (e) => e.key.vni),
      ],
      attachments: wanted.attachments,
      remove: input.sweep,
    };
    const before = this.programmed;
    this.programmed = programmed;
    const failed = new Map<number, number>();
    for (const [i, [map, encoded]] of programmed.maps.entries()) {
      const r = syncEncoded(map, encoded, { remove: input.sweep, previous: before?.maps[i]?.[1] });
      result.written += r.written;
      result.removed += r.deleted;
      result.repaired.entries += r.repaired;
      for (const hex of r.failedKeys) {
        const vni = vniOf.get(hex);
        if (vni !== undefined) failed.set(vni, (failed.get(vni) ?? 0) + 1);
      }
      if (r.failures.length > 0)
        this.log.error('the kernel refused BPF map writes', {
          map: map.name,
          failed: r.failures.length,
          first: r.failures[0].message,
        });
    }
    result.repaired.attachments = this.attach(
      datapath,
      wanted.attachments,
      before?.attachments ?? [],
      input.vnis,
      result.errors,
    );
    if (input.sweep) await this.detachStale(new Set(wanted.attachments.map((a) => a.ifindex)), input);
    for (const [vni, n] of wanted.perVni) result.programmed.set(vni, n - (failed.get(vni) ?? 0));
    return result;
  }

  // Repairs what changed behind our back since the last pass (maps have no change notifications):
  // an entry deleted or rewritten by hand, a filter removed. Writes only differences; returns them.
  check(): { entries: number; attachments: number } {
    const repaired = { entries: 0, attachments: 0 };
    const { datapath, programmed } = this;
    if (!datapath || !programmed) return repaired;
    for (const [map, encoded] of programmed.maps) {
      const r = syncEncoded(map, encoded, { remove: programmed.remove });
      repaired.entries += r.written + r.deleted;
    }
    for (const a of programmed.attachments) {
      try {
        if (datapath.attach(a.point, { interface: a.ifindex }).outcome !== 'unchanged') repaired.attachments++;
      } catch {
        // The interface went: the next pass stops wanting it.
      }
    }
    if (repaired.entries + repaired.attachments > 0) this.log.warn('repaired BPF state changed out of band', repaired);
    return repaired;
  }

  // Our descriptors go; the pins, maps and attached programs stay for the next run.
  close(): void {
    this.datapath?.close();
    this.datapath = undefined;
  }

  private open(): OpenedDatapath | string {
    if (this.datapath) return this.datapath;
    try {
      const datapath = this.kernel.open();
      this.datapath = datapath;
      this.lastError = '';
      for (const m of datapath.maps.filter((x) => x.replaced))
        this.log.warn('BPF map replaced: the pinned one did not fit this build; its entries are written again', {
          map: m.name,
        });
      this.log.info('BPF datapath opened', {
        pinDir: datapath.pinDir,
        programsReused: datapath.programs.filter((p) => p.reused).map((p) => p.name),
        mapsReplaced: datapath.maps.filter((m) => m.replaced).map((m) => m.name),
      });
      return datapath;
    } catch (err) {
      const message = `the BPF datapath cannot be opened: ${(err as Error).message}`;
      if (message !== this.lastError) this.log.error('BPF VNIs are not forwarded here', { error: message });
      this.lastError = message;
      return message;
    }
  }

  // Returns how many of those attached before had lost their program (a repair).
  private attach(
    datapath: OpenedDatapath,
    attachments: BpfAttachment[],
    before: BpfAttachment[],
    vnis: L3Vni[],
    errors: Map<number, string>,
  ): number {
    const attachedBefore = new Set(before.map((a) => `${a.point}/${a.ifindex}`));
    let repaired = 0;
    for (const a of attachments) {
      try {
        const { outcome } = datapath.attach(a.point, { interface: a.ifindex });
        if (outcome !== 'unchanged' && attachedBefore.has(`${a.point}/${a.ifindex}`)) repaired++;
        this.carrying?.add(a.ifindex);
      } catch (err) {
        const message = (err as Error).message;
        this.log.error('cannot attach a BPF program', { point: a.point, ifindex: a.ifindex, error: message });
        // A device serves every VNI on its port.
        for (const v of vnis) if (a.point === 'tunnel' && v.deviceIndex === a.ifindex) errors.set(v.vni, message);
      }
    }
    return repaired;
  }

  // Our programs off every interface that no longer wants them (an endpoint of a deleted VNI or of one
  // moved to lwt, the device of a port moved to lwt). After a start, a scan finds them first.
  private async detachStale(wanted: Set<number>, input: BpfPassInput): Promise<void> {
    if (!this.carrying) {
      const candidates = await input.candidates();
      this.carrying = new Set([...wanted, ...candidates.filter((i) => !wanted.has(i) && this.carries(i))]);
    }
    for (const ifindex of [...this.carrying].filter((i) => !wanted.has(i))) {
      try {
        this.kernel.detach(ifindex);
        this.log.info('BPF program detached', { ifindex });
      } catch {
        // The interface is gone, and the program with it.
      }
      this.carrying.delete(ifindex);
    }
  }

  private carries(ifindex: number): boolean {
    try {
      return this.kernel.carries(ifindex);
    } catch {
      return false;
    }
  }

  // No BPF VNI here (any more): programs detached, descriptors closed, pins removed. Nothing to do on
  // a host that never had one.
  private async retire(input: BpfPassInput): Promise<void> {
    if (!this.datapath && !this.kernel.pinned()) return;
    await this.detachStale(new Set(), input);
    this.close();
    this.programmed = undefined;
    try {
      this.kernel.removePins();
      this.log.info('no BPF VNI left: BPF programs detached and pins removed');
    } catch (err) {
      this.log.error('cannot remove the BPF pins', { error: (err as Error).message });
    }
  }
}
