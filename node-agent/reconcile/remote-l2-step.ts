import type { Logger } from '../../common/log';
import type { AgentMetrics } from '../agent-metrics';
import type { RemoteFdbWriter } from '../kernel/remote-fdb-writer';
import type { PassContext, ProgrammingStep, StepOutcome } from './steps';

// Remote L2 entries (FDB, bridge entries, neighbours) of every realised L2 VNI, with what an
// operator needs to see of them: convergence latency, writes, refusals.
export class RemoteL2Step implements ProgrammingStep {
  constructor(
    private readonly writer: RemoteFdbWriter,
    private readonly metrics: AgentMetrics | undefined,
    // Called once the pass has withdrawn whatever failed peers had.
    private readonly written: () => void,
    private readonly log: Logger,
  ) {}

  async program(pass: PassContext): Promise<StepOutcome> {
    const result = await this.writer.reconcile(pass.realised.l2, pass.desired, pass.sweep);
    const now = Date.now();
    for (const p of result.programmedNow) {
      this.log.debug('remote endpoint programmed', {
        vni: p.vni,
        mac: p.mac,
        owner: p.owner,
        latencyMs: now - p.originTimeMs,
      });
      this.metrics?.convergence.observe(Math.max(0, now - p.originTimeMs) / 1000);
    }
    if (this.metrics) {
      this.metrics.written.inc({ kind: 'add' }, result.added);
      this.metrics.written.inc({ kind: 'remove' }, result.removed);
      for (const code of result.errorCodes) this.metrics.netlinkErrors.inc({ errno: code });
    }
    this.written();
    return { perVni: result.perVni, removed: result.removed, conflicts: result.conflicts };
  }
}
