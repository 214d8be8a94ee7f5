import type { Etcd3, IKeyValue, IWatchResponse } from 'etcd3';
import type { Logger } from '../../common/log';
import { DEFAULT_MAX_RECORDS_PER_OWNER, StateRecord, recordKey } from '../../common/fdb-state/record';
import { newer } from '../../common/fdb-state/version';
import { ChangeLog } from '../change-log';
import { RecordMemory } from '../record-memory';
import { StorageUnavailableError } from '../database';
import type { RecordStore } from '../record-store';
import { PrefixFollower } from './prefix-follower';
import { unavailableOnFailure } from './etcd-errors';
import type { WriteGate } from './etcd-health';

// A change's revision is etcd's revision of the write, times this, plus the change's place among the
// events of that revision: so every replica numbers every record change alike, and a watch resumes on
// any of them. A transaction writes at most MAX_TXN_OPS keys, so record changes take the first places;
// the room after them numbers changes one replica derives itself (a node's liveness). 2^16 places leave 2^37 etcd revisions below 2^53: years of writes at thousands a second.
export const PLACES_PER_ETCD_REVISION = 2 ** 16;
// etcd's default --max-txn-ops: a transaction holds at most this many comparisons and as many puts.
const MAX_TXN_OPS = 128;
const MAX_ATTEMPTS = 5;
// How long an acknowledged write waits to be seen by this replica's own watch before it is answered
// anyway (it is durable; only this replica's view lags, and says so through its health).
const APPLY_WAIT_MS = 5_000;

interface Held {
  record: StateRecord;
  // etcd's mod_revision of the key: the guard a write of it compares.
  mod: number;
}

// Every agent's records in etcd, under `<prefix>records/<owner>/<key>`, for several server replicas.
// Memory is fed only by the follower (a snapshot, then etcd's watch), for this replica's writes as for
// every other's, so changes are applied in etcd's order everywhere. A write is a transaction guarded by
// the mod_revision of each key it writes, so a record another replica wrote meanwhile (an agent that
// moved) is merged by version again rather than overwritten; it is acknowledged once etcd committed it
// and this replica's watch has shown it.
export class EtcdRecordStore extends RecordMemory<Held> implements RecordStore {
  private appliedEtcdRevision = 0;
  private waiters: Array<{ etcdRevision: number; done: () => void }> = [];
  private follower: PrefixFollower | undefined;
  private gate: WriteGate | undefined;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly root: string,
    maxRecordsPerOwner: number,
    private readonly log?: Logger,
  ) {
    super((h) => h.record, 0, maxRecordsPerOwner);
  }

  static async open(
    etcd: Etcd3,
    prefix: string,
    maxRecordsPerOwner = DEFAULT_MAX_RECORDS_PER_OWNER,
    log?: Logger,
    gate?: WriteGate,
  ): Promise<EtcdRecordStore> {
    const store = new EtcdRecordStore(etcd, `${prefix}records/`, maxRecordsPerOwner, log);
    store.gate = gate;
    store.follower = await unavailableOnFailure('read the agents’ records', () =>
      PrefixFollower.start(etcd, store.root, 'the agents’ records', store.handlers, log),
    );
    return store;
  }

  get following(): PrefixFollower {
    return this.follower!;
  }

  private readonly handlers = {
    snapshot: (kvs: IKeyValue[], etcdRevision: number) => this.takeSnapshot(kvs, etcdRevision),
    changes: (response: IWatchResponse) => this.applyEvents(response),
  };

  // The first snapshot fills memory; a later one (after a lost watch) is compared with memory and the
  // differences become changes, so watches see what happened while this replica was not following.
  private takeSnapshot(kvs: IKeyValue[], etcdRevision: number): void {
    const first = this.appliedEtcdRevision === 0 && this.revision === 0;
    const seen = new Set<string>();
    const changed: Array<[key: string, held: Held | undefined]> = [];
    for (const kv of kvs) {
      const key = kv.key.toString();
      seen.add(key);
      const held = this.heldAt(key);
      if (held?.mod !== Number(kv.mod_revision)) changed.push([key, heldOf(kv)]);
    }
    for (const [owner, key] of this.held.entries())
      if (!seen.has(this.keyOf(owner, key))) changed.push([this.keyOf(owner, key), undefined]);
    // Past the places record changes of the snapshot's etcd revision may have taken.
    const through = etcdRevision * PLACES_PER_ETCD_REVISION + MAX_TXN_OPS - 1;
    if (first) {
      for (const [key, held] of changed) this.store(key, held);
      this.revision = through;
      this.changeLog = new ChangeLog(this.revision);
    } else {
      this.revision = Math.max(this.revision, through);
      for (const [key, held] of changed) this.change(key, held, this.revision + 1);
    }
    this.applied(etcdRevision);
  }

  private applyEvents(response: IWatchResponse): void {
    let last = 0;
    let place = 0;
    for (const event of response.events) {
      const etcdRevision = Number(event.kv.mod_revision);
      place = etcdRevision === last ? place + 1 : 0;
      last = etcdRevision;
      const key = event.kv.key.toString();
      const held = event.type === 'Delete' ? undefined : heldOf(event.kv);
      this.change(key, held, etcdRevision * PLACES_PER_ETCD_REVISION + place);
    }
    this.applied(Number(response.header.revision));
  }

  // One key's change, at `revision` unless that is not above every revision handed out already.
  private change(key: string, held: Held | undefined, revision: number): void {
    const before = this.heldAt(key)?.record;
    this.store(key, held);
    // A deleted key (a revoked node's) is a tombstone to watchers; one that already was says nothing new.
    if (!held && (!before || before.tombstone)) return;
    const after = held?.record ?? { ...before!, tombstone: true };
    this.revision = Math.max(revision, this.revision + 1);
    this.changed({ revision: this.revision, before, after });
  }

  private applied(etcdRevision: number): void {
    this.appliedEtcdRevision = Math.max(this.appliedEtcdRevision, etcdRevision);
    const ready = this.waiters.filter((w) => w.etcdRevision <= this.appliedEtcdRevision);
    this.waiters = this.waiters.filter((w) => w.etcdRevision > this.appliedEtcdRevision);
    for (const w of ready) w.done();
  }

  // Resolves once this replica's memory holds etcd up to `etcdRevision`, or after APPLY_WAIT_MS.
  private seen(etcdRevision: number): Promise<void> {
    if (etcdRevision <= this.appliedEtcdRevision) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.done !== done);
        this.log?.warn('a committed write has not reached this replica’s watch yet', { etcdRevision });
        resolve();
      }, APPLY_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ etcdRevision, done });
    });
  }

  private keyOf(owner: string, key: string): string {
    return `${this.root}${owner}/${key}`;
  }

  private split(etcdKey: string): [owner: string, key: string] {
    const rest = etcdKey.slice(this.root.length);
    const slash = rest.indexOf('/');
    return [rest.slice(0, slash), rest.slice(slash + 1)];
  }

  private heldAt(etcdKey: string): Held | undefined {
    const [owner, key] = this.split(etcdKey);
    return this.held.get(owner, key);
  }

  private store(etcdKey: string, held: Held | undefined): void {
    const [owner, key] = this.split(etcdKey);
    if (held) this.held.set(owner, key, held);
    else this.held.delete(owner, key);
  }

  advanceRevision(): number {
    return ++this.revision;
  }

  // Writes what is newer than memory, guarded by each key's mod_revision; a lost guard (another
  // replica wrote the key) waits for that write to arrive and merges again.
  protected async commit(records: StateRecord[]): Promise<void> {
    this.gate?.check();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const staged = this.newerThanHeld(records);
      if (staged.size === 0) return;
      const chunks = chunk([...staged], MAX_TXN_OPS);
      const results = await unavailableOnFailure('write the agents’ records to etcd', () =>
        Promise.all(chunks.map((c) => this.guardedPut(c))),
      );
      await this.seen(Math.max(...results.map((r) => r.revision)));
      if (results.every((r) => r.succeeded)) return;
    }
    throw new StorageUnavailableError(
      `records kept being written by another server replica: ${MAX_ATTEMPTS} attempts lost the race; the agent retries`,
    );
  }

  private newerThanHeld(records: StateRecord[]): Map<string, StateRecord> {
    const staged = new Map<string, StateRecord>();
    for (const r of records) {
      const key = this.keyOf(r.owner, recordKey(r.body));
      const current = staged.get(key) ?? this.heldAt(key)?.record;
      if (current && !newer(r.version, current.version)) continue;
      staged.set(key, r);
    }
    return staged;
  }

  private async guardedPut(entries: Array<[string, StateRecord]>): Promise<{ succeeded: boolean; revision: number }> {
    let txn = this.etcd.if(entries[0][0], 'Mod', '==', this.heldAt(entries[0][0])?.mod ?? 0);
    for (const [key] of entries.slice(1)) txn = txn.and(key, 'Mod', '==', this.heldAt(key)?.mod ?? 0);
    const result = await txn.then(...entries.map(([key, r]) => this.etcd.put(key).value(JSON.stringify(r)))).commit();
    return { succeeded: result.succeeded, revision: Number(result.header.revision) };
  }

  async forget(owner: string): Promise<number> {
    this.gate?.check();
    const keys = [...this.held.of(owner).keys()].map((key) => this.keyOf(owner, key));
    if (keys.length === 0) return 0;
    const results = await unavailableOnFailure('delete the records of a revoked node from etcd', () =>
      Promise.all(
        chunk(keys, MAX_TXN_OPS).map((c) =>
          // etcd3 builds a transaction from a comparison: this one always holds.
          this.etcd
            .if(c[0], 'Mod', '>', -1)
            .then(...c.map((key) => this.etcd.delete().key(key)))
            .commit(),
        ),
      ),
    );
    await this.seen(Math.max(...results.map((r) => Number(r.header.revision))));
    return keys.length;
  }

  close(): Promise<void> {
    return this.follower?.stop() ?? Promise.resolve();
  }
}

function heldOf(kv: IKeyValue): Held {
  return { record: JSON.parse(kv.value.toString()) as StateRecord, mod: Number(kv.mod_revision) };
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
