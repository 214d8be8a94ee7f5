import { EventEmitter } from 'node:events';
import type { Level } from 'level';
import { DEFAULT_MAX_RECORDS_PER_OWNER, StateRecord, recordKey } from '../common/fdb-state/record';
import { Version, ZERO_VERSION, newer } from '../common/fdb-state/version';
import { ChangeLog } from './change-log';
import type { Database } from './database';
import { RecordAdmission, type RecordStore, type ReplicaChange } from './record-store';

export { RecordLimitError, SpoofedRecordError, type ReplicaChange } from './record-store';

const recordDbKey = (owner: string, key: string) => `rec/${owner}/${key}`;
const REVISION_KEY = 'meta/record-revision';
// Liveness revisions are not written with records: they are handed out below a durable reservation,
// so a restarted server starts above every revision a watcher may have seen. Renewed at half.
const RESERVED_KEY = 'meta/record-revision-reserved';
const RESERVATION = 100_000;

// Every agent's owned records as the agents replicated them, durable in level (written with sync
// before the agent is acknowledged, so an acknowledged record survives a server crash), merged by
// version. An agent may only replicate records it owns with its own VTEP: anything else is refused.
export class ReplicaStore extends EventEmitter<{ change: [ReplicaChange] }> implements RecordStore {
  private readonly owners = new Map<string, Map<string, StateRecord>>();
  // Changes kept in memory for watches resuming from a revision; older ones answer OUT_OF_RANGE.
  private readonly changeLog: ChangeLog<ReplicaChange>;
  private readonly pending: Array<{
    node: string;
    records: StateRecord[];
    resolve: (v: Version) => void;
    reject: (e: Error) => void;
  }> = [];
  private flushing = false;
  // The group being written: neither pending nor applied yet.
  private writing: ReplicaStore['pending'] = [];
  private readonly admission: RecordAdmission;
  // Revisions below this one may be handed out without a write.
  private reserved = 0;
  private reserving: Promise<void> | undefined;

  private constructor(
    private readonly db: Database,
    private revision: number,
    maxRecordsPerOwner: number,
  ) {
    super();
    this.setMaxListeners(0);
    this.changeLog = new ChangeLog(revision);
    this.admission = new RecordAdmission(maxRecordsPerOwner);
  }

  get spoofed(): number {
    return this.admission.spoofed;
  }

  get overLimit(): number {
    return this.admission.overLimit;
  }

  static async open(db: Database, maxRecordsPerOwner = DEFAULT_MAX_RECORDS_PER_OWNER): Promise<ReplicaStore> {
    const { revision, records } = await readRecords(db.level);
    const store = new ReplicaStore(db, revision, maxRecordsPerOwner);
    for (const r of records) store.mapOf(r.owner).set(recordKey(r.body), r);
    db.onReopen((level) => store.reload(level));
    await store.reserve();
    return store;
  }

  // After a failed write the database is the truth: that write may or may not have been kept. What
  // differs from memory is applied as changes with new revisions, so watches see it, and the revision
  // is stored so that none a watch has seen is handed out again after a restart.
  private async reload(level: Level<string, string>): Promise<void> {
    const disk = await readRecords(level);
    this.revision = Math.max(this.revision, disk.revision);
    const onDisk = new Set<string>();
    const kept: StateRecord[] = [];
    for (const r of disk.records) {
      onDisk.add(recordDbKey(r.owner, recordKey(r.body)));
      const held = this.owners.get(r.owner)?.get(recordKey(r.body));
      if (!held || newer(r.version, held.version)) kept.push(r);
    }
    const gone = [...this.owners.values()]
      .flatMap((m) => [...m.values()])
      .filter((r) => !onDisk.has(recordDbKey(r.owner, recordKey(r.body))));
    this.apply([...kept, ...gone.filter((r) => !r.tombstone).map((r) => ({ ...r, tombstone: true }))]);
    for (const r of gone) this.owners.get(r.owner)?.delete(recordKey(r.body));
    await level.put(REVISION_KEY, String(this.revision), { sync: true });
  }

  currentRevision(): number {
    return this.revision;
  }

  oldestResumableRevision(): number {
    return this.changeLog.oldestResumableRevision();
  }

  // A revision for a change derived from something other than a record (a node's liveness), so
  // watches order and resume it like any other. Not written itself: it lies below the reservation.
  advanceRevision(): number {
    if (this.revision + RESERVATION / 2 >= this.reserved) void this.reserve().catch(() => undefined);
    return ++this.revision;
  }

  // Writes the next reservation (one at a time); a failure is the database's to report and recover.
  private reserve(): Promise<void> {
    this.reserving ??= this.db
      .write([{ type: 'put', key: RESERVED_KEY, value: String(this.revision + RESERVATION) }])
      .then(() => {
        this.reserved = this.revision + RESERVATION;
      })
      .finally(() => (this.reserving = undefined));
    return this.reserving;
  }

  changesAfter(revision: number, limit: number): ReplicaChange[] {
    return this.changeLog.after(revision, limit);
  }

  countChangesAfter(revision: number): number {
    return this.changeLog.countAfter(revision);
  }

  size(): number {
    let n = 0;
    for (const m of this.owners.values()) n += m.size;
    return n;
  }

  all(): StateRecord[] {
    return [...this.owners.values()].flatMap((m) => [...m.values()]);
  }

  // The nodes whose records are held here (durable: known also before they reconnect).
  ownerNames(): string[] {
    return [...this.owners.keys()];
  }

  recordsOf(owner: string): StateRecord[] {
    return [...(this.owners.get(owner)?.values() ?? [])];
  }

  // The newest version held of an owner: what the agent is acknowledged up to.
  versionOf(owner: string): Version {
    let max = ZERO_VERSION;
    for (const r of this.owners.get(owner)?.values() ?? []) if (newer(r.version, max)) max = r.version;
    return max;
  }

  // Merges a batch an agent sent; resolves once it is durable, with the version to acknowledge.
  // Refuses (throws at once) a batch with a record the agent may not publish or hold.
  merge(node: string, vtep: string, records: StateRecord[]): Promise<Version> {
    const queued = [...this.writing, ...this.pending].filter((p) => p.node === node).flatMap((p) => p.records);
    this.admission.check(node, vtep, records, this.owners.get(node) ?? new Map(), queued);
    return new Promise((resolve, reject) => {
      this.pending.push({ node, records, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  // Group commit: every batch that arrived while the previous write was syncing goes to disk in one
  // write, so twenty agents sending at once cost one fsync, not twenty in a row.
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const group = this.pending.splice(0);
      this.writing = group;
      const accepted: StateRecord[] = [];
      const staged = new Map<string, StateRecord>();
      for (const { records } of group) {
        for (const r of records) {
          const dbKey = recordDbKey(r.owner, recordKey(r.body));
          const current = staged.get(dbKey) ?? this.owners.get(r.owner)?.get(recordKey(r.body));
          if (current && !newer(r.version, current.version)) continue;
          staged.set(dbKey, r);
          accepted.push(r);
        }
      }
      try {
        if (accepted.length > 0) {
          // Revisions are assigned after the write so they follow the order changes are emitted in;
          // a liveness revision taken meanwhile only makes the persisted counter trail by one.
          await this.db.write([
            ...[...staged].map(([key, r]) => ({ type: 'put' as const, key, value: JSON.stringify(r) })),
            { type: 'put' as const, key: REVISION_KEY, value: String(this.revision + accepted.length) },
          ]);
          this.apply(accepted);
        }
        for (const g of group) g.resolve(this.versionOf(g.node));
      } catch (err) {
        for (const g of group) g.reject(err as Error);
      }
    }
    this.writing = [];
    this.flushing = false;
  }

  // Deletes every record of a revoked node. Watchers see each one go as a tombstone (no agent issued
  // it: the node's word no longer counts); returns how many were deleted.
  async forget(owner: string): Promise<number> {
    const all = this.recordsOf(owner);
    if (all.length === 0) return 0;
    await this.db.write(all.map((r) => ({ type: 'del' as const, key: recordDbKey(owner, recordKey(r.body)) })));
    this.apply(all.filter((r) => !r.tombstone).map((r) => ({ ...r, tombstone: true })));
    this.owners.delete(owner);
    return all.length;
  }

  private apply(accepted: StateRecord[]): void {
    for (const r of accepted) {
      const map = this.mapOf(r.owner);
      const key = recordKey(r.body);
      const change: ReplicaChange = { revision: ++this.revision, before: map.get(key), after: r };
      map.set(key, r);
      this.changeLog.push(change);
      this.emit('change', change);
    }
  }

  private mapOf(owner: string): Map<string, StateRecord> {
    let map = this.owners.get(owner);
    if (!map) this.owners.set(owner, (map = new Map<string, StateRecord>()));
    return map;
  }
}

async function readRecords(level: Level<string, string>): Promise<{ revision: number; records: StateRecord[] }> {
  const [written, reserved] = await level.getMany([REVISION_KEY, RESERVED_KEY]);
  const records: StateRecord[] = [];
  for await (const value of level.values({ gt: 'rec/', lt: 'rec/\xff' }))
    records.push(JSON.parse(value) as StateRecord);
  return { revision: Math.max(Number(written ?? 0), Number(reserved ?? 0)), records };
}
