import { EventEmitter } from 'node:events';
import {
  DEFAULT_MAX_RECORDS_PER_OWNER,
  RecordBody,
  StateRecord,
  recordKey,
  sameBody,
} from '../../common/fdb-state/record';
import { OwnerSummary, addToSummary, emptySummary } from './owner-summary';
import { MAX_COUNTER, MAX_INCARNATION, Version, newer } from '../../common/fdb-state/version';

// implausible: a version of our own at the very top, which we can no longer out-version.
// over-limit: a new key of an owner that holds maxRecordsPerOwner records already.
export type MergeResult = 'applied' | 'stale' | 'refuted' | 'deferred' | 'implausible' | 'over-limit';

export interface RecordStoreOptions {
  node: string;
  incarnation: number;
  // How long a tombstone is kept: it must outlast the longest partition we plan to heal from.
  tombstoneTtlMs: number;
  // Hold back refutations until markLocalReady() (a restarting agent; see deferredOwn).
  deferRefutation?: boolean;
  // Records (tombstones included) one owner may hold here; DEFAULT_MAX_RECORDS_PER_OWNER if unset.
  maxRecordsPerOwner?: number;
  now?: () => number;
}

export interface RecordChange {
  before: StateRecord | undefined;
  after: StateRecord;
  local: boolean;
}

// Every record of every owner, newest version per (owner, key). Local writes get the next version
// of this node; remote ones are merged by version. A record that claims to be ours but is newer than
// anything we issued (a peer remembers us from before a restart or a wiped data dir) is refuted by
// issuing a newer version, as memberlist refutes a false suspicion.
export class RecordStore extends EventEmitter<{
  change: [RecordChange];
  incarnation: [number];
  forgotten: [string];
}> {
  private readonly owners = new Map<string, Map<string, StateRecord>>();
  private readonly summaries = new Map<string, OwnerSummary>();
  // key -> owner -> record: every owner's claim on one key (a MAC in a VNI) without a scan.
  private readonly byKey = new Map<string, Map<string, StateRecord>>();
  private readonly tombstonedAt = new Map<StateRecord, number>();
  private incarnationValue: number;
  private counter = 0;
  private readonly now: () => number;
  // Until the owner has issued what it has now (after a restart), peers' copies of its old records
  // are held back: refuting them at once would tombstone records it is about to re-issue, and peers
  // would withdraw live entries for a moment.
  private localReady: boolean;
  private readonly deferredOwn = new Map<string, StateRecord>();

  constructor(private readonly options: RecordStoreOptions) {
    super();
    this.incarnationValue = options.incarnation;
    this.localReady = !options.deferRefutation;
    this.now = options.now ?? Date.now;
  }

  get node(): string {
    return this.options.node;
  }

  get incarnation(): number {
    return this.incarnationValue;
  }

  get(owner: string, key: string): StateRecord | undefined {
    return this.owners.get(owner)?.get(key);
  }

  // Live (not tombstoned) records of every owner.
  *live(): IterableIterator<StateRecord> {
    for (const records of this.owners.values()) {
      for (const r of records.values()) if (!r.tombstone) yield r;
    }
  }

  liveCount(): number {
    let n = 0;
    for (const _ of this.live()) n++;
    return n;
  }

  // Every owner's live record for a key.
  liveFor(key: string): StateRecord[] {
    const out: StateRecord[] = [];
    for (const r of this.byKey.get(key)?.values() ?? []) if (!r.tombstone) out.push(r);
    return out;
  }

  recordsOf(owner: string): StateRecord[] {
    return [...(this.owners.get(owner)?.values() ?? [])];
  }

  owned(): StateRecord[] {
    return this.recordsOf(this.options.node);
  }

  ownerSummaries(): OwnerSummary[] {
    return [...this.summaries.values()].filter((s) => s.count > 0);
  }

  summaryOf(owner: string): OwnerSummary | undefined {
    return this.summaries.get(owner);
  }

  // Issues (or re-issues) a local record; an unchanged live record is not re-issued.
  issue(body: RecordBody): StateRecord {
    const current = this.get(this.options.node, recordKey(body));
    if (current && !current.tombstone && sameBody(current.body, body)) return current;
    return this.store(this.nextLocal(body, false), true);
  }

  // The owner holds as many records as it may: no new key is taken from it.
  full(owner: string): boolean {
    return (this.owners.get(owner)?.size ?? 0) >= (this.options.maxRecordsPerOwner ?? DEFAULT_MAX_RECORDS_PER_OWNER);
  }

  withdraw(key: string): StateRecord | undefined {
    const current = this.get(this.options.node, key);
    if (!current || current.tombstone) return undefined;
    return this.store(this.nextLocal(current.body, true), true);
  }

  merge(record: StateRecord): MergeResult {
    const key = recordKey(record.body);
    const current = this.get(record.owner, key);
    if (current && !newer(record.version, current.version)) return 'stale';
    if (record.owner !== this.options.node) {
      if (!current && this.full(record.owner)) return 'over-limit';
      this.store(record, false);
      return 'applied';
    }
    // A version of our own record we did not issue in this life: out-version it.
    if (record.version.incarnation >= this.incarnationValue) {
      if (record.version.incarnation < MAX_INCARNATION) {
        this.incarnationValue = record.version.incarnation + 1;
        this.counter = 0;
      } else if (record.version.counter >= MAX_COUNTER) {
        return 'implausible';
      } else {
        // Saturated: the counter alone out-versions it.
        this.incarnationValue = MAX_INCARNATION;
        this.counter = Math.max(this.counter, record.version.counter);
      }
      this.emit('incarnation', this.incarnationValue);
    }
    if (!this.localReady) {
      const held = this.deferredOwn.get(key);
      if (!held || newer(record.version, held.version)) this.deferredOwn.set(key, record);
      return 'deferred';
    }
    this.refute(record, current);
    return 'refuted';
  }

  // The owner has issued everything it currently has: old copies held back are refuted now, which
  // tombstones only what it no longer has.
  markLocalReady(): number {
    if (this.localReady) return 0;
    this.localReady = true;
    let refuted = 0;
    for (const [key, record] of this.deferredOwn) {
      const current = this.get(this.options.node, key);
      if (current && newer(current.version, record.version)) continue;
      this.refute(record, current);
      refuted++;
    }
    this.deferredOwn.clear();
    return refuted;
  }

  private refute(record: StateRecord, current: StateRecord | undefined): void {
    const ours = current && !current.tombstone ? current.body : record.body;
    this.store(this.nextLocal(ours, !(current && !current.tombstone)), true);
  }

  // Every record of an owner we no longer trust (a revoked node): gone, not tombstoned, since a
  // tombstone would be ours to issue, not its; returns how many.
  forget(owner: string): number {
    const records = this.owners.get(owner);
    if (!records || owner === this.options.node) return 0;
    for (const [key, record] of records) {
      this.tombstonedAt.delete(record);
      const claims = this.byKey.get(key);
      claims?.delete(owner);
      if (claims?.size === 0) this.byKey.delete(key);
    }
    this.owners.delete(owner);
    this.summaries.delete(owner);
    this.emit('forgotten', owner);
    return records.size;
  }

  // Drops tombstones older than the TTL; returns how many.
  reap(): number {
    const cutoff = this.now() - this.options.tombstoneTtlMs;
    let reaped = 0;
    for (const [record, at] of this.tombstonedAt) {
      if (at > cutoff) continue;
      this.tombstonedAt.delete(record);
      const key = recordKey(record.body);
      const records = this.owners.get(record.owner);
      if (records?.get(key) !== record) continue;
      records.delete(key);
      const claims = this.byKey.get(key);
      claims?.delete(record.owner);
      if (claims?.size === 0) this.byKey.delete(key);
      addToSummary(this.summaries.get(record.owner)!, record, -1);
      reaped++;
    }
    return reaped;
  }

  private nextLocal(body: RecordBody, tombstone: boolean): StateRecord {
    const version: Version = { incarnation: this.incarnationValue, counter: ++this.counter };
    return { owner: this.options.node, version, tombstone, originTimeMs: this.now(), body };
  }

  private store(record: StateRecord, local: boolean): StateRecord {
    const key = recordKey(record.body);
    let records = this.owners.get(record.owner);
    if (!records) this.owners.set(record.owner, (records = new Map<string, StateRecord>()));
    let summary = this.summaries.get(record.owner);
    if (!summary) this.summaries.set(record.owner, (summary = emptySummary(record.owner)));
    const before = records.get(key);
    if (before) {
      addToSummary(summary, before, -1);
      this.tombstonedAt.delete(before);
    }
    records.set(key, record);
    let claims = this.byKey.get(key);
    if (!claims) this.byKey.set(key, (claims = new Map<string, StateRecord>()));
    claims.set(record.owner, record);
    addToSummary(summary, record, 1);
    if (record.tombstone) this.tombstonedAt.set(record, this.now());
    this.emit('change', { before, after: record, local });
    return record;
  }
}
