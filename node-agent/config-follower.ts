import type { Logger } from '../common/log';
import type { VniConfig } from '../common/vni';
import type { AgentState } from './agent-state';

export type ConfigSource = 'server' | 'gossip';

// Which VNI configuration the agent realises: the server's, else the cached copy, else a peer's with
// a newer revision (the server may be unreachable). Each change is cached before it is realised.
export class ConfigFollower {
  // A cached or received configuration is a complete desired set: devices not in it may be removed.
  // A fresh data dir's empty one may not.
  private complete: boolean;

  constructor(
    private readonly state: AgentState,
    private readonly changed: () => void,
    private readonly log: Logger,
  ) {
    this.complete = state.configRevision > 0;
  }

  get authoritative(): boolean {
    return this.complete;
  }

  apply(revision: number, vnis: VniConfig[], source: ConfigSource): void {
    const { state, log } = this;
    if (source === 'gossip' && revision <= state.configRevision) return;
    if (revision < state.configRevision) {
      log.warn('server configuration is older than the cached one; following the server', {
        revision,
        cachedRevision: state.configRevision,
      });
    }
    this.complete = true;
    if (revision === state.configRevision && JSON.stringify(vnis) === JSON.stringify(state.vnis)) {
      // The cached configuration a restart began with: the start-up pass already realised it.
      log.info('configuration confirmed', { source, revision });
      return;
    }
    state.saveConfig(revision, vnis);
    log.info('configuration received', { source, revision, vnis: vnis.map((v) => v.id) });
    this.changed();
  }
}
