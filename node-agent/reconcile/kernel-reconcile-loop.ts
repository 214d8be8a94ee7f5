import type { Logger } from '../../common/log';
import type { VniConfig } from '../../common/vni';
import type { ProgrammingStatus } from '../../generated/vxgossip/v1/ProgrammingStatus';
import type { AgentMetrics } from '../agent-metrics';
import { DeviceReconciler } from '../kernel/device-reconciler';
import type { DatapathOptions } from '../bpf';
import { BpfDatapathWriter } from '../kernel/bpf-datapath-writer';
import { bpfKernel } from '../kernel/bpf-kernel';
import type { AttachedEndpoint } from '../kernel/endpoint-attacher';
import { L3RouteWriter } from '../kernel/l3-route-writer';
import type { LinkDriver } from '../kernel/link-driver';
import type { RealisedVnis, VniPorts } from '../kernel/realised-vnis';
import { RemoteFdbWriter } from '../kernel/remote-fdb-writer';
import { findUnderlay } from '../kernel/underlay';
import type { Rtnetlink } from '../netlink';
import type { DesiredRemote } from '../state/remote-view';
import { BpfDatapathStep } from './bpf-step';
import { KernelDeviceStep } from './device-step';
import { L3RouteStep } from './l3-route-step';
import { ReconcileLoop } from './reconcile-loop';
import { RemoteL2Step } from './remote-l2-step';
import type { LocalRecordsStep } from './steps';

// After a start, remote entries are not swept until the first anti-entropy exchange has refilled
// the desired state, and at most this long after starting.
const GRACE_MAX_MS = 15_000;
const MAX_PASS_REST_MS = 200;
// BPF maps send no change notifications, and a map entry or filter removed by hand cuts its endpoint
// off until repaired: they are checked this often, as often as gossip anti-entropy runs. A check is
// a dump per map compared with the last pass's encoded entries and a query per attachment: 15-20 ms
// at 10,000 remote entries (measured), about 1 % of a core; nothing at all on hosts without BPF VNIs.
const BPF_CHECK_INTERVAL_MS = 2_000;

export interface KernelLoopDeps {
  rt: Rtnetlink;
  driver: LinkDriver;
  vtep: string;
  vnis: () => VniConfig[];
  authoritative: () => boolean;
  desired: (localVnis: ReadonlySet<number>) => DesiredRemote;
  attached: () => Promise<AttachedEndpoint[]>;
  // Puts attached endpoints back into their bridges.
  replug: (bridges: VniPorts[]) => Promise<void>;
  localRecords: LocalRecordsStep;
  // The devices the kernel watch must follow from now on.
  onRealised: (realised: RealisedVnis) => void;
  // A pass has withdrawn whatever failed peers had.
  onRemoteWritten: () => void;
  configRevision: () => number;
  onPass: (statuses: ProgrammingStatus[], configRevision: number) => void;
  // Where the BPF datapath's pins go (only once a BPF VNI is realised here).
  bpf?: DatapathOptions;
  metrics?: AgentMetrics;
  log: Logger;
}

// The reconcile loop with its steps writing to this host's kernel over rtnetlink.
export function kernelReconcileLoop(d: KernelLoopDeps): ReconcileLoop {
  const { rt, driver, vtep, log } = d;
  const devices = new DeviceReconciler(driver, vtep, () => findUnderlay(vtep, driver), log.child({ part: 'devices' }));
  return new ReconcileLoop({
    steps: {
      devices: new KernelDeviceStep(
        devices,
        rt,
        { vnis: d.vnis, authoritative: d.authoritative, onRealised: d.onRealised, replug: d.replug },
        log,
      ),
      remoteL2: new RemoteL2Step(
        new RemoteFdbWriter(rt, log.child({ part: 'fdb' })),
        d.metrics,
        d.onRemoteWritten,
        log,
      ),
      l3Routes: new L3RouteStep(new L3RouteWriter(rt, log.child({ part: 'routes' })), rt, d.attached),
      bpf: new BpfDatapathStep(
        new BpfDatapathWriter(bpfKernel(d.bpf), log.child({ part: 'bpf' })),
        rt,
        d.attached,
        d.metrics,
      ),
      localRecords: d.localRecords,
    },
    desired: d.desired,
    configRevision: d.configRevision,
    onPass: d.onPass,
    log,
    graceMaxMs: GRACE_MAX_MS,
    maxRestMs: MAX_PASS_REST_MS,
    bpfCheckIntervalMs: BPF_CHECK_INTERVAL_MS,
  });
}
