import type { StateRecord } from '../common/fdb-state/record';
import { recordKey } from '../common/fdb-state/record';
import type { Version } from '../common/fdb-state/version';

export class SpoofedRecordError extends Error {}
export class RecordLimitError extends Error {}

export interface ReplicaChange {
  // Server-wide change counter: watches resume from it.
  revision: number;
  before: StateRecord | undefined;
  after: StateRecord;
}

// Every agent's owned records as the agents replicated them: level on one server, etcd for several
// replicas. Reads come from memory; `merge` resolves once the batch is durable, with the version to
// acknowledge. Changes carry increasing revisions, and the newest are kept for watches to resume from.
export interface RecordStore {
  readonly spoofed: number;
  readonly overLimit: number;
  on(event: 'change', listener: (c: ReplicaChange) => void): unknown;
  off(event: 'change', listener: (c: ReplicaChange) => void): unknown;
  currentRevision(): number;
  oldestResumableRevision(): number;
  // A revision for a change derived from something other than a record (a node's liveness).
  advanceRevision(): number;
  changesAfter(revision: number, limit: number): ReplicaChange[];
  countChangesAfter(revision: number): number;
  size(): number;
  all(): StateRecord[];
  // The nodes whose records are held (durable: known also before they reconnect).
  ownerNames(): string[];
  recordsOf(owner: string): StateRecord[];
  // The newest version held of an owner: what the agent is acknowledged up to.
  versionOf(owner: string): Version;
  merge(node: string, vtep: string, records: StateRecord[]): Promise<Version>;
  // Deletes every record of a revoked node; resolves with how many were deleted.
  forget(owner: string): Promise<number>;
}

// What every store refuses before anything is written, counted by reason.
export class RecordAdmission {
  spoofed = 0;
  overLimit = 0;

  constructor(private readonly maxRecordsPerOwner: number) {}

  // An agent may only replicate records it owns with its own VTEP. A batch that would leave its owner
  // with more records than it may hold is refused whole, counting what is queued for (or being
  // written to) the store too, so a flood cannot slip past between writes.
  check(
    node: string,
    vtep: string,
    records: StateRecord[],
    held: ReadonlyMap<string, unknown>,
    queued: StateRecord[],
  ): void {
    for (const r of records) {
      if (r.owner !== node) {
        this.spoofed++;
        throw new SpoofedRecordError(
          `agent ${node} sent a record owned by ${r.owner}; an agent may publish only its own`,
        );
      }
      if (r.body.vtep !== vtep) {
        this.spoofed++;
        throw new SpoofedRecordError(`agent ${node} sent a record with VTEP ${r.body.vtep}, but its VTEP is ${vtep}`);
      }
    }
    if (held.size + records.length + queued.length <= this.maxRecordsPerOwner) return;
    const keys = new Set(held.keys());
    for (const r of [...queued, ...records]) keys.add(recordKey(r.body));
    if (keys.size <= this.maxRecordsPerOwner) return;
    this.overLimit++;
    throw new RecordLimitError(
      `agent ${node} would hold ${keys.size} records; an owner may hold ${this.maxRecordsPerOwner} (--max-records-per-owner)`,
    );
  }
}
