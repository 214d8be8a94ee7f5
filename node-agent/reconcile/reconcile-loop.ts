import { createHash } from 'node:crypto';
import type { Logger } from '../../common/log';
import type { ProgrammingStatus } from '../../generated/vxgossip/v1/ProgrammingStatus';
import type { RealisedVnis } from '../kernel/realised-vnis';
import type { DesiredRemote } from '../state/remote-view';
import { ConflictLog } from './conflict-log';
import type { PassContext, ReconcileSteps, StepOutcome } from './steps';

export interface ReconcileLoopOptions {
  steps: ReconcileSteps;
  // The remote entries this host must program, given the VNIs realised here.
  desired(localVnis: ReadonlySet<number>): DesiredRemote;
  // The configuration revision whose VNIs the device step realises now.
  configRevision(): number;
  // After every pass that reached the kernel: per-VNI device state and counts, and the configuration
  // revision the devices were realised at (what `ctl vni ... --wait` waits for).
  onPass(statuses: ProgrammingStatus[], configRevision: number): void;
  log: Logger;
  // Remote entries are not swept until endGrace() or at most this long after start().
  graceMaxMs: number;
  // The longest rest between passes under a burst of triggers.
  maxRestMs: number;
  // How often the BPF maps and attachments are checked between passes (0: never).
  bpfCheckIntervalMs: number;
}

export type PassKind = 'full' | 'fdb';

// FRR zebra's shape: desired state (gossip, configuration) against actual state (a kernel dump),
// one pass at a time. Triggers during a pass collapse into one more. A full pass also realises
// devices. After a start nothing is swept until the grace period ends, so a restarted agent keeps
// forwarding on what the kernel has while gossip refills the desired state.
export class ReconcileLoop {
  private running: Promise<void> = Promise.resolve();
  private scheduled = false;
  private wantFull = false;
  // Anything but a gossip change may mean the kernel moved: the next pass re-reads it.
  private kernelDirty = true;
  private lastFingerprint = '';
  private realised: RealisedVnis = { l2: [], l3: [] };
  // As the device step left them; statuses add each pass's counts and errors.
  private deviceStatuses: ProgrammingStatus[] = [];
  // The configuration revision deviceStatuses speak for: read before the device step reads the VNIs,
  // so a configuration arriving during the pass is never reported as realised.
  private realisedRevision = 0;
  private statuses: ProgrammingStatus[] = [];
  private lastCounts = '';
  private sweep = false;
  private synced = false;
  private stopped = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  // The rest after the current pass is skipped, or the running rest ends early.
  private restCut = false;
  private endRest: (() => void) | undefined;
  private readonly startedAt = Date.now();
  private readonly conflicts: ConflictLog;

  constructor(private readonly options: ReconcileLoopOptions) {
    this.conflicts = new ConflictLog(options.log);
  }

  start(): void {
    this.graceTimer = setTimeout(() => this.endGrace('timeout'), this.options.graceMaxMs);
    if (this.options.bpfCheckIntervalMs > 0)
      this.checkTimer = setInterval(() => this.checkBpf(), this.options.bpfCheckIntervalMs);
    this.schedule('full');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.graceTimer);
    clearInterval(this.checkTimer);
    await this.running;
    this.options.steps.bpf.close();
  }

  // Between passes, never during one.
  private checkBpf(): void {
    if (this.stopped) return;
    this.running = this.running.then(() => {
      try {
        this.options.steps.bpf.check();
      } catch (err) {
        this.options.log.error('BPF check failed; retrying at the next', { error: (err as Error).message });
      }
    });
  }

  // gossipOnly: only the desired state changed, the kernel did not (the fingerprint may skip it).
  schedule(kind: PassKind, gossipOnly = false): void {
    if (this.stopped) return;
    if (kind === 'full') this.wantFull = true;
    if (!gossipOnly) this.kernelDirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    this.running = this.running.then(() => this.runPass());
  }

  // Runs a pass now and waits for it (an attach answers once its record is issued).
  async settle(): Promise<void> {
    this.schedule('fdb');
    await this.running;
  }

  endGrace(reason: string): void {
    if (this.sweep || this.stopped) return;
    this.sweep = true;
    clearTimeout(this.graceTimer);
    this.options.log.info('restart grace period over: stale remote entries may now be swept', {
      reason,
      msSinceStart: Date.now() - this.startedAt,
    });
    this.schedule('fdb', true);
    // Everything gossip knows has arrived: program it now, not after the rest that batches bursts.
    this.restCut = true;
    this.endRest?.();
  }

  get sweepAllowed(): boolean {
    return this.sweep;
  }

  // A full pass (devices and entries) has completed since start.
  // The VNIs the last full pass realised: what the kernel may hold entries for.
  get realisedVnis(): RealisedVnis {
    return this.realised;
  }

  get kernelSynced(): boolean {
    return this.synced;
  }

  // The configuration revision the last full pass realised the devices of.
  get realisedConfigRevision(): number {
    return this.realisedRevision;
  }

  status(): ProgrammingStatus[] {
    return this.statuses;
  }

  private async runPass(): Promise<void> {
    this.scheduled = false;
    this.restCut = false;
    const full = this.wantFull;
    this.wantFull = false;
    const started = Date.now();
    try {
      if (full) {
        const revision = this.options.configRevision();
        const { realised, statuses } = await this.options.steps.devices.realise();
        this.realisedRevision = revision;
        this.realised = realised;
        this.deviceStatuses = statuses;
        this.statuses = statuses;
      }
      await this.programPass();
      if (full) this.synced = true;
    } catch (err) {
      this.options.log.error('reconcile pass failed; retrying at the next trigger', { error: (err as Error).message });
    }
    // Under a burst of changes (thousands of records arriving), passes back to back would spend
    // all our CPU re-reading the kernel: rest as long as the pass took, so changes batch up.
    if (this.restCut) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(this.options.maxRestMs, Date.now() - started));
      this.endRest = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.endRest = undefined;
  }

  // Remote entries first: a MAC that moved away is re-pointed before the local records step looks,
  // so a stale local entry is never mistaken for fresh evidence of the MAC being here.
  private async programPass(): Promise<void> {
    const { steps } = this.options;
    const localVnis = new Set([...this.realised.l2.map((p) => p.vni), ...this.realised.l3.map((v) => v.vni)]);
    const desired = this.options.desired(localVnis);
    // Records changed but what this host must program did not (a peer re-issued the same entries
    // with new versions), and nothing touched the kernel: nothing to read or write.
    const fingerprint = fingerprintOf(desired, this.sweep, localVnis);
    if (fingerprint === this.lastFingerprint && !this.kernelDirty) return;
    this.lastFingerprint = fingerprint;
    this.kernelDirty = false;
    const pass = newPass(this.realised, localVnis, desired, this.sweep);
    const l2 = await steps.remoteL2.program(pass);
    // Routes before BPF: a VNI moving between datapaths has its drop rules (or its routes) in place
    // before the BPF step attaches (or detaches) its programs.
    const l3 = await steps.l3Routes.program(pass);
    const bpf = await steps.bpf.program(pass);
    await steps.localRecords.sync(pass);
    this.report([l2, l3, bpf]);
  }

  private report(outcomes: StepOutcome[]): void {
    const counts = new Map(outcomes.flatMap((o) => [...o.perVni]));
    const conflicts = outcomes.flatMap((o) => o.conflicts);
    const errors = new Map(outcomes.flatMap((o) => [...(o.errors ?? [])]));
    this.conflicts.update(conflicts);
    this.statuses = this.deviceStatuses.map((s) => ({
      ...s,
      ...(errors.has(s.vni ?? 0) && !s.error ? { error: errors.get(s.vni ?? 0) } : {}),
      desired: counts.get(s.vni ?? 0)?.desired ?? 0,
      programmed: counts.get(s.vni ?? 0)?.programmed ?? 0,
      conflicts: conflicts.filter((c) => c.vni === s.vni).map(({ kind, address, found }) => ({ kind, address, found })),
    }));
    const desired = this.statuses.reduce((sum, s) => sum + (s.desired ?? 0), 0);
    const programmed = this.statuses.reduce((sum, s) => sum + (s.programmed ?? 0), 0);
    const removed = outcomes.reduce((sum, o) => sum + o.removed, 0);
    if (`${desired}/${programmed}/${removed}` !== this.lastCounts) {
      this.lastCounts = `${desired}/${programmed}/${removed}`;
      this.options.log.info('fdb entries', { desired, programmed, removed, msSinceStart: Date.now() - this.startedAt });
    }
    this.options.onPass(this.statuses, this.realisedRevision);
  }
}

function newPass(
  realised: RealisedVnis,
  localVnis: ReadonlySet<number>,
  desired: DesiredRemote,
  sweep: boolean,
): PassContext {
  const reads = new Map<string, Promise<unknown>>();
  return {
    realised,
    localVnis,
    desired,
    sweep,
    once<T>(key: string, read: () => Promise<T>): Promise<T> {
      if (!reads.has(key)) reads.set(key, read());
      return reads.get(key) as Promise<T>;
    },
  };
}

// What a pass would program, in a few bytes: equal fingerprints mean equal desired state.
function fingerprintOf(desired: DesiredRemote, sweep: boolean, vnis: ReadonlySet<number>): string {
  const hash = createHash('sha1');
  hash.update(`${sweep}|${[...vnis].sort().join(',')}|`);
  for (const f of desired.floods) hash.update(`f${f.vni}/${f.vtep};`);
  for (const e of desired.endpoints)
    hash.update(`e${e.body.vni}/${e.body.mac}/${e.body.vtep}/${e.body.ips.join(',')};`);
  return hash.digest('hex');
}
