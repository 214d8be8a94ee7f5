import type { Level } from 'level';
import { DEFAULT_MAX_RECORDS_PER_OWNER, StateRecord, recordKey } from '../common/fdb-state/record';
import { newer } from '../common/fdb-state/version';
import { RecordMemory } from './record-memory';
import type { Database } from './database';
import type { RecordStore, ReplicaChange } from './record-store';

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
export class ReplicaStore extends RecordMemory<StateRecord> implements RecordStore {
  // Revisions below this one may be handed out without a write.
  private reserved = 0;
  private reserving: Promise<void> | undefined;

  private constructor(
    private readonly db: Database,
    revision: number,
    maxRecordsPerOwner: number,
  ) {
    super((r) => r, revision, maxRecordsPerOwner);
  }

  static async open(db: Database, maxRecordsPerOwner = DEFAULT_MAX_RECORDS_PER_OWNER): Promise<ReplicaStore> {
    const { revision, records } = await readRecords(db.level);
    const store = new ReplicaStore(db, revision, maxRecordsPerOwner);
    for (const r of records) store.held.set(r.owner, recordKey(r.body), r);
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
      const held = this.held.get(r.owner, recordKey(r.body));
      if (!held || newer(r.version, held.version)) kept.push(r);
    }
    const gone = this.held.all().filter((r) => !onDisk.has(recordDbKey(r.owner, recordKey(r.body))));
    this.apply([...kept, ...gone.filter((r) => !r.tombstone).map((r) => ({ ...r, tombstone: true }))]);
    for (const r of gone) this.held.delete(r.owner, recordKey(r.body));
    await level.put(REVISION_KEY, String(this.revision), { sync: true });
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

  protected async commit(records: StateRecord[]): Promise<void> {
    const accepted: StateRecord[] = [];
    const staged = new Map<string, StateRecord>();
    for (const r of records) {
      const dbKey = recordDbKey(r.owner, recordKey(r.body));
      const current = staged.get(dbKey) ?? this.held.get(r.owner, recordKey(r.body));
      if (current && !newer(r.version, current.version)) continue;
      staged.set(dbKey, r);
      accepted.push(r);
    }
    if (accepted.length === 0) return;
    // Revisions are assigned after the write so they follow the order changes are emitted in;
    // a liveness revision taken meanwhile only makes the persisted counter trail by one.
    await this.db.write([
      ...[...staged].map(([key, r]) => ({ type: 'put' as const, key, value: JSON.stringify(r) })),
      { type: 'put' as const, key: REVISION_KEY, value: String(this.revision + accepted.length) },
    ]);
    this.apply(accepted);
  }

  // Deletes every record of a revoked node. Watchers see each one go as a tombstone (no agent issued
  // it: the node's word no longer counts); returns how many were deleted.
  async forget(owner: string): Promise<number> {
    const all = this.recordsOf(owner);
    if (all.length === 0) return 0;
    await this.db.write(all.map((r) => ({ type: 'del' as const, key: recordDbKey(owner, recordKey(r.body)) })));
    this.apply(all.filter((r) => !r.tombstone).map((r) => ({ ...r, tombstone: true })));
    this.held.deleteOwner(owner);
    return all.length;
  }

  private apply(accepted: StateRecord[]): void {
    for (const r of accepted) {
      const key = recordKey(r.body);
      const change: ReplicaChange = { revision: ++this.revision, before: this.held.get(r.owner, key), after: r };
      this.held.set(r.owner, key, r);
      this.changed(change);
    }
  }
}

async function readRecords(level: Level<string, string>): Promise<{ revision: number; records: StateRecord[] }> {
  const [written, reserved] = await level.getMany([REVISION_KEY, RESERVED_KEY]);
  const records: StateRecord[] = [];
  for await (const value of level.values({ gt: 'rec/', lt: 'rec/\xff' }))
    records.push(JSON.parse(value) as StateRecord);
  return { revision: Math.max(Number(written ?? 0), Number(reserved ?? 0)), records };
}
