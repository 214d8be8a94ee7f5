import { EventEmitter } from 'node:events';
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { Logger } from '../../common/log';
import { readPrefix } from './read-prefix';

export interface FollowerHandlers {
  // Everything under the prefix as of etcd revision `revision`: replaces what memory holds. Called at
  // the start, and again after the watch was lost.
  snapshot(kvs: IKeyValue[], revision: number): void;
  // What changed after the snapshot, in etcd's order; one response holds whole revisions.
  changes(response: IWatchResponse): void;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

// Keeps a replica's memory of one etcd prefix in step with every replica's writes: a snapshot, then a
// watch from just after it. etcd3 reconnects a watch by itself, from the last revision it delivered;
// but etcd cancels one whose revision it has compacted meanwhile (the replica was cut off for longer
// than the compaction retention), and no event after it can be trusted then. The follower then reads
// a new snapshot and watches from there, and reports itself not following until it does, for the
// replica to say NOT_SERVING rather than serve a view that has stopped moving.
export class PrefixFollower extends EventEmitter<{ following: [problem: string | undefined] }> {
  private watcher: Watcher | undefined;
  private stopped = false;
  private recovering = false;
  problem: string | undefined;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly prefix: string,
    private readonly what: string,
    private readonly handlers: FollowerHandlers,
    private readonly log?: Logger,
  ) {
    super();
  }

  // Throws if the first snapshot or watch fails: a replica that cannot read its state does not start.
  static async start(
    etcd: Etcd3,
    prefix: string,
    what: string,
    handlers: FollowerHandlers,
    log?: Logger,
  ): Promise<PrefixFollower> {
    const follower = new PrefixFollower(etcd, prefix, what, handlers, log);
    await follower.follow();
    return follower;
  }

  private async follow(): Promise<void> {
    const { kvs, revision } = await readPrefix(this.etcd, this.prefix);
    this.handlers.snapshot(kvs, revision);
    const watcher = await this.etcd
      .watch()
      .prefix(this.prefix)
      .startRevision(String(revision + 1))
      .create();
    if (this.stopped) {
      await watcher.cancel();
      return;
    }
    this.watcher = watcher;
    watcher.on('data', (response) => this.handlers.changes(response));
    watcher.on('error', (err) => void this.lost(err));
  }

  private async lost(err: Error): Promise<void> {
    if (this.stopped || this.recovering) return;
    this.recovering = true;
    this.setProblem(`the watch on ${this.what} in etcd was cancelled (${err.message}); reading it again`);
    this.log?.warn('watch lost: reading a new snapshot', { what: this.what, error: err.message });
    // etcd has already dropped a cancelled watch: cancelling it again would wait for an answer forever.
    this.watcher?.removeAllListeners();
    this.watcher = undefined;
    for (let wait = FIRST_RETRY_MS; !this.stopped; wait = Math.min(wait * 2, MAX_RETRY_MS)) {
      try {
        await this.follow();
        break;
      } catch (retry) {
        this.setProblem(`cannot read ${this.what} from etcd (${(retry as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    this.recovering = false;
    if (!this.stopped) {
      this.log?.info('following etcd again', { what: this.what });
      this.setProblem(undefined);
    }
  }

  private setProblem(problem: string | undefined): void {
    this.problem = problem;
    this.emit('following', problem);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.cancel();
  }
}
