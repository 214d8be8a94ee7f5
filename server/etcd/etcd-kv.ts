import { EventEmitter } from 'node:events';
import { Range, type Etcd3, type IKeyValue, type IRequestOp } from 'etcd3';
import type { Logger } from '../../common/log';
import type { DurableKv, KvEntry, KvFollower, KvGuard, KvListener, KvOp } from '../durable-kv';
import { unavailableOnFailure } from './etcd-errors';
import { PrefixFollower } from './prefix-follower';
import { readPrefix } from './read-prefix';
import type { WriteGate } from './etcd-health';

const COMMIT_DEADLINE_MS = 5_000;
// A committed write waits this long for the watch to bring it into memory, then reads it instead.
const WATCH_LAG_MS = 2_000;

// One prefix followed for a KvListener: a snapshot, then etcd's watch from the snapshot's revision on
// (a PrefixFollower, which reads a new snapshot when etcd cancels the watch). `seen` is the revision
// memory is at; events at or below it (already in a snapshot) are skipped, so memory only moves
// forward, in etcd's order, whatever the order snapshots and events arrive in.
class KvPrefix implements KvFollower {
  private seen = 0;
  private follower: PrefixFollower | undefined;
  private readonly waiting = new Set<{ revision: number; done: () => void }>();

  constructor(
    private readonly kv: EtcdKv,
    readonly prefix: string,
    private readonly listener: KvListener,
    private readonly log?: Logger,
  ) {}

  async start(): Promise<void> {
    this.follower = await unavailableOnFailure(`follow ${this.prefix} in etcd`, () =>
      PrefixFollower.start(
        this.kv.etcd,
        this.kv.root + this.prefix,
        this.prefix,
        {
          snapshot: (kvs, revision) => {
            if (revision < this.seen) return;
            this.listener.reset(kvs.map((kv) => this.kv.entry(kv)));
            this.moveTo(revision);
          },
          changes: (res) => {
            const seen = this.seen;
            for (const event of res.events) {
              const revision = Number(event.kv.mod_revision);
              if (revision <= seen) continue;
              const key = this.kv.logical(event.kv.key.toString());
              this.listener.change(key, event.type === 'Put' ? this.kv.entry(event.kv) : undefined);
              this.moveTo(revision);
            }
          },
        },
        this.log,
      ),
    );
    this.follower.on('following', (problem) => this.kv.emit('following', problem));
  }

  async resync(): Promise<void> {
    // A snapshot older than what events already brought would move memory back: read again.
    for (;;) {
      const { entries, revision } = await this.kv.snapshot(this.prefix);
      if (revision < this.seen) continue;
      this.listener.reset(entries);
      this.moveTo(revision);
      return;
    }
  }

  // Resolves once memory is at `revision`, by the watch or else by a snapshot.
  async reach(revision: number): Promise<void> {
    if (this.seen >= revision) return;
    const reached = await new Promise<boolean>((resolve) => {
      const waiter = { revision, done: () => resolve(true) };
      this.waiting.add(waiter);
      setTimeout(() => {
        this.waiting.delete(waiter);
        resolve(false);
      }, WATCH_LAG_MS).unref();
    });
    if (!reached) await this.resync();
  }

  private moveTo(revision: number): void {
    this.seen = Math.max(this.seen, revision);
    for (const waiter of this.waiting)
      if (waiter.revision <= this.seen) {
        this.waiting.delete(waiter);
        waiter.done();
      }
  }

  // No key under the prefix modified after the revision memory is at (etcd compares every key of the range).
  unchanged(): KvGuard {
    return { prefix: this.prefix, since: String(this.seen) };
  }

  async close(): Promise<void> {
    this.kv.followers.delete(this);
    await this.follower?.stop();
  }
}

// The durable key-value seam on etcd, for several server replicas: every key under `<prefix>`, a
// guard is a compare on the key's mod_revision (0: absent), a write one transaction, and followers
// are fed by etcd's watch, so they see other replicas' writes too. The client should make no
// automatic retries (see connectEtcd): a write whose reply was lost is refused, never repeated.
// Its followers' problems are its own ('following'): the replica's health follows them.
export class EtcdKv extends EventEmitter<{ following: [problem: string | undefined] }> implements DurableKv {
  readonly followers = new Set<KvPrefix>();

  // `prefix` separates clusters sharing one etcd. The client stays the caller's to close.
  constructor(
    readonly etcd: Etcd3,
    readonly root: string,
    private readonly log?: Logger,
    private readonly gate?: WriteGate,
  ) {
    super();
  }

  logical(key: string): string {
    return key.slice(this.root.length);
  }

  entry(kv: IKeyValue): KvEntry {
    return { key: this.logical(kv.key.toString()), value: kv.value.toString(), version: String(kv.mod_revision) };
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const res = await unavailableOnFailure(`read ${key} from etcd`, () =>
      this.etcd.kv.range({ key: Buffer.from(this.root + key) }),
    );
    return res.kvs.length === 0 ? undefined : this.entry(res.kvs[0]);
  }

  async range(prefix: string): Promise<KvEntry[]> {
    return (await this.snapshot(prefix)).entries;
  }

  async snapshot(prefix: string): Promise<{ entries: KvEntry[]; revision: number }> {
    const { kvs, revision } = await unavailableOnFailure(`read ${prefix} from etcd`, () =>
      readPrefix(this.etcd, this.root + prefix),
    );
    return { entries: kvs.map((kv) => this.entry(kv)), revision };
  }

  async write(ops: KvOp[], guards: KvGuard[] = []): Promise<boolean> {
    this.gate?.check();
    const key = (k: string) => Buffer.from(this.root + k);
    const success: IRequestOp[] = ops.map((op) =>
      op.type === 'put'
        ? { request_put: { key: key(op.key), value: Buffer.from(op.value) } }
        : { request_delete_range: { key: key(op.key) } },
    );
    const compare = guards.map((guard) =>
      'prefix' in guard
        ? // range_end is in etcd's Compare (3.3 on), not in etcd3's typing of it.
          {
            key: key(guard.prefix),
            range_end: Range.prefix(key(guard.prefix)).end,
            target: 'Mod' as const,
            result: 'Less' as const,
            mod_revision: String(Number(guard.since) + 1),
          }
        : { key: key(guard.key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: guard.version ?? '0' },
    );
    const txn = await unavailableOnFailure('commit a change to etcd', () =>
      this.etcd.kv.txn({ compare, success }, { deadline: Date.now() + COMMIT_DEADLINE_MS }),
    );
    if (!txn.succeeded) return false;
    const revision = Number(txn.header.revision);
    const touched = [...this.followers].filter((f) => ops.some((op) => op.key.startsWith(f.prefix)));
    await Promise.all(touched.map((f) => f.reach(revision))).catch((err: Error) =>
      // Committed all the same: the watch brings it once etcd answers again.
      this.log?.warn('a change committed to etcd is not in memory yet', { error: err.message }),
    );
    return true;
  }

  async follow(prefix: string, listener: KvListener): Promise<KvFollower> {
    const follower = new KvPrefix(this, prefix, listener, this.log);
    await follower.start();
    this.followers.add(follower);
    return follower;
  }
}
