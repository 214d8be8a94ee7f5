import type { Logger } from '../common/log';
import type { TrustAnchor } from '../common/pki';
import { openSignedConfig } from '../common/trust/signed-config';
import { Revocations } from '../common/trust/revocations';
import { vniFromProto } from '../common/vni-proto';
import type { SignedConfig__Output } from '../generated/vxgossip/v1/SignedConfig';
import type { AgentState } from './agent-state';
import type { ConfigAdoption } from './gossip/record-sync';

export type ConfigSource = 'server' | 'gossip';

export interface ConfigEvents {
  changed: () => void;
  revocations: (revocations: Revocations) => void;
}

// Which VNI configuration the agent realises: the server's, else the cached copy, else a peer's with
// a newer revision (the server may be unreachable). Whatever its source, only a configuration the
// server signed is taken; each change is cached before it is realised.
export class ConfigFollower {
  // A cached or received configuration is a complete desired set: devices not in it may be removed.
  // A fresh data dir's empty one may not.
  private complete: boolean;

  constructor(
    private readonly state: AgentState,
    private readonly anchor: () => TrustAnchor,
    private readonly events: ConfigEvents,
    private readonly log: Logger,
  ) {
    this.complete = state.configRevision > 0;
  }

  get authoritative(): boolean {
    return this.complete;
  }

  apply(signed: SignedConfig__Output, source: ConfigSource): ConfigAdoption {
    const { state, log } = this;
    let opened;
    try {
      opened = openSignedConfig(signed, this.anchor());
    } catch (err) {
      log.warn('refused a configuration without a valid server signature', { source, error: (err as Error).message });
      return 'unsigned';
    }
    const revision = Number(opened.revision);
    if (source === 'gossip' && revision <= state.configRevision) return 'stale';
    if (revision < state.configRevision) {
      log.warn('server configuration is older than the cached one; following the server', {
        revision,
        cachedRevision: state.configRevision,
      });
    }
    this.complete = true;
    const vnis = opened.vnis.map(vniFromProto);
    const revocations = opened.revocations.map((r) => ({ node: r.node, revokedAtMs: Number(r.revokedAtMs) }));
    const unchanged =
      revision === state.configRevision &&
      JSON.stringify(vnis) === JSON.stringify(state.vnis) &&
      JSON.stringify(revocations) === JSON.stringify(state.revocations);
    if (unchanged) {
      // The cached configuration a restart began with: the start-up pass already realised it.
      log.info('configuration confirmed', { source, revision });
      return 'adopted';
    }
    state.saveConfig({ revision, vnis, revocations, signed });
    log.info('configuration received', { source, revision, vnis: vnis.map((v) => v.id), revoked: revocations.length });
    this.events.revocations(new Revocations(revocations));
    this.events.changed();
    return 'adopted';
  }
}
