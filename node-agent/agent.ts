import type { Logger } from '../common/log';
import type { VniConfig } from '../common/vni';
import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';
import { AgentState } from './agent-state';
import { DeviceReconciler } from './device-reconciler';
import type { LinkDriver } from './link-driver';
import { ServerLink } from './server-link';
import { findUnderlay } from './underlay';

export const AGENT_VERSION = '0.1.0';
// Out-of-band changes (an operator deleting a device) are repaired at least this often.
const RESYNC_INTERVAL_MS = 30_000;

export interface AgentOptions {
  name: string;
  vtep: string;
  server: string;
  state: AgentState;
  driver: LinkDriver;
  log: Logger;
}

// Ties the pieces together: the VNI configuration (from the server, else the cached copy) is
// realised by the reconciler, whose per-VNI status goes back to the server.
export class Agent {
  private readonly reconciler: DeviceReconciler;
  private readonly link: ServerLink;
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private authoritative: boolean;
  private lastStatus: ProgrammingStatus[] = [];

  constructor(private readonly options: AgentOptions) {
    const { driver, vtep, log } = options;
    this.reconciler = new DeviceReconciler(driver, vtep, () => findUnderlay(vtep, driver), log.child({ part: 'devices' }));
    // A cached configuration is a complete desired set too: it may sweep. A fresh data dir may not.
    this.authoritative = options.state.configRevision > 0;
    this.link = new ServerLink(
      options.server,
      () => ({
        node: options.name,
        vtep,
        incarnation: options.state.identity.incarnation,
        agentVersion: AGENT_VERSION,
        configRevision: options.state.configRevision,
      }),
      { onConfig: (revision, vnis) => this.onConfig(revision, vnis) },
      log.child({ part: 'server-link' }),
    );
    this.timer = setInterval(() => this.requestReconcile(), RESYNC_INTERVAL_MS);
  }

  start(): void {
    this.options.log.info('agent starting', {
      node: this.options.name, vtep: this.options.vtep, incarnation: this.options.state.identity.incarnation,
      cachedRevision: this.options.state.configRevision, cachedVnis: this.options.state.vnis.length,
    });
    this.requestReconcile();
    this.link.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.link.close();
    await this.running;
  }

  status(): ProgrammingStatus[] {
    return this.lastStatus;
  }

  private onConfig(revision: number, vnis: VniConfig[]): void {
    const previous = this.options.state.configRevision;
    if (revision < previous) {
      this.options.log.warn('server configuration is older than the cached one; following the server', { revision, cachedRevision: previous });
    }
    this.options.state.saveConfig(revision, vnis);
    this.authoritative = true;
    this.options.log.info('configuration received', { revision, vnis: vnis.map((v) => v.id) });
    this.requestReconcile();
  }

  // Passes never overlap; requests during a pass collapse into one more pass.
  private requestReconcile(): void {
    if (this.pending) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      const { state, log } = this.options;
      try {
        this.lastStatus = await this.reconciler.reconcile(state.vnis, this.authoritative);
        log.info('reconciled', { revision: state.configRevision, ready: this.lastStatus.filter((s) => s.devicesReady).length, failed: this.lastStatus.filter((s) => !s.devicesReady).length });
      } catch (err) {
        log.error('reconcile pass failed; retrying at the next trigger', { error: (err as Error).message });
      }
      this.link.sendStatus({ vnis: this.lastStatus, configRevision: state.configRevision });
    });
  }
}
