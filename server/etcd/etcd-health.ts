import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../../common/log';
import { StorageUnavailableError, type DatabaseHealth } from '../database';

const PROBE_INTERVAL_MS = 1_000;
const PROBE_DEADLINE_MS = 2_000;

// Whether this replica may serve: etcd answers a linearizable read (which needs a quorum: a replica
// cut off from the majority, or talking only to a member that is, fails it), and every follower's
// watch is live. Anything else is NOT_SERVING with the reason, until it mends.
export class EtcdHealth extends EventEmitter<{ health: [DatabaseHealth] }> {
  // Failed writes are counted by the stores' callers; kept for the metrics' one shape of health.
  writeFailures = 0;
  private readonly problems = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly etcd: Etcd3,
    private readonly probeKey: string,
    private readonly log?: Logger,
  ) {
    super();
  }

  // Each source says why it cannot follow etcd now, or undefined once it can again.
  start(followers: Array<{ on(event: 'following', listener: (problem: string | undefined) => void): unknown }>): void {
    for (const follower of followers)
      follower.on('following', (problem) => this.set(`watch:${String(followers.indexOf(follower))}`, problem));
    this.timer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  health(): DatabaseHealth {
    const [reason] = this.problems.values();
    return reason === undefined ? { serving: true, reason: 'ok' } : { serving: false, reason };
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.etcd
        .get(this.probeKey)
        .options({ deadline: Date.now() + PROBE_DEADLINE_MS })
        .exec();
      this.set('etcd', undefined);
    } catch (err) {
      this.set('etcd', `etcd does not answer (${(err as Error).message}); writes are refused until it does`);
    } finally {
      this.probing = false;
    }
  }

  private set(source: string, problem: string | undefined): void {
    const before = this.health();
    if (problem === undefined) this.problems.delete(source);
    else this.problems.set(source, problem);
    const after = this.health();
    if (after.serving === before.serving && after.reason === before.reason) return;
    if (after.serving) this.log?.info('etcd reachable again: serving', {});
    else this.log?.error('not serving', { reason: after.reason });
    this.emit('health', after);
  }
}

// Refuses a write at once while the replica is not serving, rather than after etcd's deadline:
// callers (ctl, agents) then go to another replica without waiting. Opened before the health it
// follows exists (the stores come first), so it lets writes through until told otherwise.
export class WriteGate {
  private health: EtcdHealth | undefined;

  follow(health: EtcdHealth): void {
    this.health = health;
  }

  check(): void {
    const state = this.health?.health();
    if (state && !state.serving)
      throw new StorageUnavailableError(
        `this server replica cannot reach etcd: ${state.reason}; nothing was written: retry, or use another replica`,
      );
  }
}
