import type { Logger } from '../../common/log';
import type { AgentMetrics } from '../agent-metrics';
import type { AttachedEndpoint } from '../kernel/endpoint-attacher';
import { scanLocalEndpoints } from '../kernel/local-endpoint-scan';
import type { DuplicateDetector } from '../state/duplicate-detector';
import { syncLocalRecords } from '../state/local-records';
import type { RecordStore } from '../state/record-store';
import type { LocalRecordsStep, PassContext } from './steps';

export interface LocalRecordsInputs {
  store: RecordStore;
  vtep: string;
  rt: Parameters<typeof scanLocalEndpoints>[0];
  attached: () => Promise<AttachedEndpoint[]>;
  alive: (owner: string) => boolean;
  duplicates: DuplicateDetector;
  // A freeze ends on its own: a pass must run then to contest the MAC again.
  wake: () => void;
  metrics?: AgentMetrics;
  log: Logger;
}

// This host's own records from what its kernel has: endpoints attached through the API and MACs its
// bridges learned, each claimed or frozen as duplicate detection says.
export class LocalRecordsSync implements LocalRecordsStep {
  private thawTimer: NodeJS.Timeout | undefined;
  // Logged when it changes, not at every pass.
  private notAnnounced = 0;

  constructor(private readonly inputs: LocalRecordsInputs) {}

  async sync(pass: PassContext): Promise<void> {
    const { store, vtep, rt, alive, duplicates, metrics, log } = this.inputs;
    for (const t of duplicates.expire())
      log.info('duplicate MAC thawed: this host contests it again', {
        vni: t.vni,
        mac: t.mac,
        frozenMs: Date.now() - t.sinceMs,
      });
    const attached = await pass.once('attached', this.inputs.attached);
    const endpoints = await scanLocalEndpoints(rt, pass.localVnis, pass.realised.l2, attached);
    const changes = syncLocalRecords(store, { vtep, vnis: [...pass.localVnis], endpoints, alive, duplicates });
    for (const f of changes.froze) {
      log.error('duplicate MAC: it keeps moving between hosts; frozen, this host stops contesting it', {
        vni: f.vni,
        mac: f.mac,
        claimants: f.claimants,
      });
      metrics?.duplicateFreezes.inc();
    }
    if (changes.overLimit !== this.notAnnounced && changes.overLimit > 0)
      log.error('local endpoints not announced: this host holds as many records as an owner may', {
        notAnnounced: changes.overLimit,
        localEndpoints: endpoints.length,
        fix: 'raise --max-records-per-owner on every agent and the server',
      });
    this.notAnnounced = changes.overLimit;
    if (changes.issued > 0 || changes.withdrawn > 0)
      log.info('local records changed', {
        issued: changes.issued,
        withdrawn: changes.withdrawn,
        localEndpoints: endpoints.length,
      });
    const refuted = store.markLocalReady();
    if (refuted > 0) log.info('withdrew records a previous run issued and this one does not have', { refuted });
    this.armThaw();
  }

  close(): void {
    clearTimeout(this.thawTimer);
  }

  private armThaw(): void {
    clearTimeout(this.thawTimer);
    const ms = this.inputs.duplicates.msUntilNextThaw();
    if (ms !== undefined) this.thawTimer = setTimeout(() => this.inputs.wake(), ms + 1);
  }
}
