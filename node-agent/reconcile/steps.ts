import type { ProgrammingStatus } from '../../generated/vxgossip/v1/ProgrammingStatus';
import type { KernelConflict } from '../kernel/foreign-entries';
import type { RealisedVnis } from '../kernel/realised-vnis';
import type { DesiredRemote } from '../state/remote-view';

// What one pass works from. Steps read it; only the loop builds it.
export interface PassContext {
  realised: RealisedVnis;
  // Every VNI realised here, L2 and L3.
  localVnis: ReadonlySet<number>;
  desired: DesiredRemote;
  // False during a restart's grace period: entries not (yet) desired stay in the kernel.
  sweep: boolean;
  // A value several steps need, read from the kernel once per pass.
  once<T>(key: string, read: () => Promise<T>): Promise<T>;
}

// Per VNI: entries wanted, and entries confirmed in the kernel after the step.
export type VniCounts = Map<number, { desired: number; programmed: number }>;

export interface StepOutcome {
  perVni: VniCounts;
  // Entries of ours the step deleted from the kernel.
  removed: number;
  // Entries wanted but not written: the kernel holds one for the address that is not ours.
  conflicts: KernelConflict[];
  // Per VNI: why it does not forward as desired although its devices are ready.
  errors?: Map<number, string>;
}

// Realises each configured VNI's devices (full passes only).
export interface DeviceStep {
  realise(): Promise<{ realised: RealisedVnis; statuses: ProgrammingStatus[] }>;
}

// Writes what remote hosts announce into the kernel: L2 FDB and neighbours, or L3 routes.
export interface ProgrammingStep {
  program(pass: PassContext): Promise<StepOutcome>;
}

// L3 VNIs on the BPF datapath. Its maps send no change notifications: check() compares them (and the
// attachments) with the last pass's and repairs what differs, between passes.
export interface BpfStep extends ProgrammingStep {
  check(): void;
  // Lets go of the datapath; what is pinned and attached stays for the next run.
  close(): void;
}

// Makes this host's own records say what the kernel has locally.
export interface LocalRecordsStep {
  sync(pass: PassContext): Promise<void>;
}

export interface ReconcileSteps {
  devices: DeviceStep;
  remoteL2: ProgrammingStep;
  l3Routes: ProgrammingStep;
  bpf: BpfStep;
  localRecords: LocalRecordsStep;
}
