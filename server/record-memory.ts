import { EventEmitter } from 'node:events';
import type { StateRecord } from '../common/fdb-state/record';
import { Version, ZERO_VERSION, newer } from '../common/fdb-state/version';
import { ChangeLog } from './change-log';
import { RecordAdmission, type ReplicaChange } from './record-store';

// The records a store holds in memory, by owner and key. Each store keeps what it needs beside a
// record (etcd: the key's mod_revision), so what is held is `T` and `recordOf` reads the record in it.
export class HeldRecords<T> {
  private readonly owners = new Map<string, Map<string, T>>();

  constructor(private readonly recordOf: (held: T) => StateRecord) {}

  get(owner: string, key: string): T | undefined {
    return this.owners.get(owner)?.get(key);
  }

  // What `owner` holds, by key (empty if nothing).
  of(owner: string): ReadonlyMap<string, T> {
    return this.owners.get(owner) ?? new Map<string, T>();
  }

  set(owner: string, key: string, held: T): void {
    let map = this.owners.get(owner);
    if (!map) this.owners.set(owner, (map = new Map<string, T>()));
    map.set(key, held);
  }

  delete(owner: string, key: string): void {
    const map = this.owners.get(owner);
    map?.delete(key);
    if (map?.size === 0) this.owners.delete(owner);
  }

  deleteOwner(owner: string): void {
    this.owners.delete(owner);
  }

  *entries(): Generator<[owner: string, key: string, held: T]> {
    for (const [owner, map] of this.owners) for (const [key, held] of map) yield [owner, key, held];
  }

  size(): number {
    let n = 0;
    for (const m of this.owners.values()) n += m.size;
    return n;
  }

  all(): StateRecord[] {
    return [...this.owners.values()].flatMap((m) => [...m.values()].map(this.recordOf));
  }

  ownerNames(): string[] {
    return [...this.owners.keys()];
  }

  recordsOf(owner: string): StateRecord[] {
    return [...this.of(owner).values()].map(this.recordOf);
  }

  // The newest version held of an owner: what the agent is acknowledged up to.
  versionOf(owner: string): Version {
    let max = ZERO_VERSION;
    for (const held of this.of(owner).values()) {
      const { version } = this.recordOf(held);
      if (newer(version, max)) max = version;
    }
    return max;
  }
}

// What every record store holds in memory and serves reads from, whatever keeps it durable: the
// records, the revision, the newest changes (for watches resuming from a revision), and what it refused.
interface Pending {
  node: string;
  records: StateRecord[];
  resolve: (v: Version) => void;
  reject: (e: Error) => void;
}

export abstract class RecordMemory<T> extends EventEmitter<{ change: [ReplicaChange] }> {
  protected readonly held: HeldRecords<T>;
  protected changeLog: ChangeLog<ReplicaChange>;
  protected readonly admission: RecordAdmission;
  private readonly pending: Pending[] = [];
  // The group being written: neither pending nor applied yet.
  private writing: Pending[] = [];
  private flushing = false;

  constructor(
    recordOf: (held: T) => StateRecord,
    protected revision: number,
    maxRecordsPerOwner: number,
  ) {
    super();
    this.setMaxListeners(0);
    this.held = new HeldRecords(recordOf);
    this.changeLog = new ChangeLog(revision);
    this.admission = new RecordAdmission(maxRecordsPerOwner);
  }

  get spoofed(): number {
    return this.admission.spoofed;
  }

  get overLimit(): number {
    return this.admission.overLimit;
  }

  currentRevision(): number {
    return this.revision;
  }

  oldestResumableRevision(): number {
    return this.changeLog.oldestResumableRevision();
  }

  changesAfter(revision: number, limit: number): ReplicaChange[] {
    return this.changeLog.after(revision, limit);
  }

  countChangesAfter(revision: number): number {
    return this.changeLog.countAfter(revision);
  }

  size(): number {
    return this.held.size();
  }

  all(): StateRecord[] {
    return this.held.all();
  }

  // The nodes whose records are held (durable: known also before they reconnect).
  ownerNames(): string[] {
    return this.held.ownerNames();
  }

  recordsOf(owner: string): StateRecord[] {
    return this.held.recordsOf(owner);
  }

  versionOf(owner: string): Version {
    return this.held.versionOf(owner);
  }

  // Merges a batch an agent sent; resolves once it is durable, with the version to acknowledge.
  // Refuses (throws at once) a batch with a record the agent may not publish or hold, counting what
  // is queued or being written too.
  merge(node: string, vtep: string, records: StateRecord[]): Promise<Version> {
    const queued = [...this.writing, ...this.pending].filter((p) => p.node === node).flatMap((p) => p.records);
    this.admission.check(node, vtep, records, this.held.of(node), queued);
    return new Promise((resolve, reject) => {
      this.pending.push({ node, records, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  // Writes what is newer than memory of one group of batches, durably, and applies it.
  protected abstract commit(records: StateRecord[]): Promise<void>;

  // Group commit: every batch that arrived while the previous write was syncing goes in the next one,
  // so twenty agents sending at once cost one sync, not twenty in a row.
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const group = this.pending.splice(0);
      this.writing = group;
      try {
        await this.commit(group.flatMap((p) => p.records));
        for (const g of group) g.resolve(this.versionOf(g.node));
      } catch (err) {
        for (const g of group) g.reject(err as Error);
      }
    }
    this.writing = [];
    this.flushing = false;
  }

  // A change applied to memory: kept for resuming watches, and told to listeners.
  protected changed(change: ReplicaChange): void {
    this.changeLog.push(change);
    this.emit('change', change);
  }
}
