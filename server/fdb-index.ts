import { EventEmitter } from 'node:events';
import BTree from 'sorted-btree';
import { EndpointRecord, decideMac } from '../common/fdb-state/winner-rule';
import { FLOOD_MAC, StateRecord } from '../common/fdb-state/record';
import type { FdbEntry } from '../generated/vxgossip/v1/FdbEntry';
import type { RecordStore, ReplicaChange } from './record-store';
import { ChangeLog } from './change-log';
import { sortKey } from './pagination';

// One change of the derived FDB: an entry appeared (no before), went away (no after) or changed.
export interface FdbChange {
  revision: number;
  before?: FdbEntry;
  after?: FdbEntry;
}

// Keys sort as listings do (VNI, MAC, then the node of a flood entry), so the served entries are
// their own sorted index.
const unicastKey = (vni: number, mac: string) => sortKey(vni, mac, '');
const floodKey = (vni: number, owner: string) => sortKey(vni, FLOOD_MAC, owner);

// What every host programs, as the server sees it — the winning claim of each MAC and one flood
// entry per VNI member, from owners not known to be dead — kept up to date incrementally. Each
// record change or liveness change touches one key, so a change costs O(claims of that MAC), and
// watchers share one computed change instead of each re-deriving the table.
export class FdbIndex extends EventEmitter<{ change: [FdbChange] }> {
  // Claims per MAC, as arrays: one claim is the rule, and an array costs a fraction of a Map.
  private readonly claims = new Map<string, EndpointRecord[]>();
  private readonly members = new Map<string, StateRecord>();
  // What each served entry comes from, sorted by key; entries are built when asked for.
  private readonly entries = new BTree<string, Served>();
  // Keys of the entries served frozen: duplicates are listed without a pass over every entry.
  private readonly frozen = new Set<string>();
  private readonly changeLog: ChangeLog<FdbChange>;
  // Liveness as last applied, so only a real transition costs a pass over the owner's records.
  private readonly liveness = new Map<string, boolean>();

  constructor(
    private readonly replicas: RecordStore,
    private readonly live: (owner: string) => boolean,
  ) {
    super();
    this.setMaxListeners(0);
    for (const r of replicas.all()) {
      this.index(r);
      this.track(r.owner);
    }
    for (const key of [...this.claims.keys(), ...this.members.keys()]) {
      const served = this.derive(key);
      if (served) this.serve(key, served);
    }
    this.changeLog = new ChangeLog(replicas.currentRevision());
    replicas.on('change', (c) => this.onRecord(c));
  }

  sorted(): BTree<string, Served> {
    return this.entries;
  }

  // The entries as they are now, unaffected by later changes: shared nodes are copied only when changed.
  snapshot(): BTree<string, Served> {
    return this.entries.clone();
  }

  lookup(vni: number, mac: string): FdbEntry | undefined {
    const served = this.entries.get(unicastKey(vni, mac));
    return served && entryOf(served);
  }

  // Every MAC a claimant froze as a duplicate: the entry served for it and every live claim.
  duplicates(): Array<{ entry: FdbEntry; claims: EndpointRecord[] }> {
    const out: Array<{ entry: FdbEntry; claims: EndpointRecord[] }> = [];
    for (const key of [...this.frozen].sort()) {
      const served = this.entries.get(key)!;
      const decision = decideMac(this.claims.get(key) ?? [], this.live);
      if (decision) out.push({ entry: entryOf(served), claims: decision.claims });
    }
    return out;
  }

  currentRevision(): number {
    return this.replicas.currentRevision();
  }

  oldestResumableRevision(): number {
    return this.changeLog.oldestResumableRevision();
  }

  changesAfter(revision: number, limit: number): FdbChange[] {
    return this.changeLog.after(revision, limit);
  }

  countChangesAfter(revision: number): number {
    return this.changeLog.countAfter(revision);
  }

  // Some node's state changed. One agent's report decides what the server believes about others (and
  // its disconnection withdraws its reports), so every owner is re-checked: a cheap test per node.
  // An owner now reported dead, or alive again, has its entries withdrawn or restored, each change
  // with a revision of its own so a watch resumes without missing one.
  nodeStateChanged(name: string): void {
    for (const owner of new Set([name, ...this.liveness.keys()])) {
      const live = this.live(owner);
      if (this.liveness.get(owner) === live) continue;
      this.liveness.set(owner, live);
      for (const r of this.replicas.recordsOf(owner)) {
        if (!r.tombstone) this.recompute(keyOf(r), () => this.replicas.advanceRevision());
      }
    }
  }

  private onRecord(c: ReplicaChange): void {
    this.track(c.after.owner);
    if (c.before) this.unindex(c.before);
    this.index(c.after);
    this.recompute(keyOf(c.after), () => c.revision);
  }

  private track(owner: string): void {
    if (!this.liveness.has(owner)) this.liveness.set(owner, this.live(owner));
  }

  private index(r: StateRecord): void {
    if (r.tombstone) return this.unindex(r);
    if (r.body.kind === 'membership') {
      this.members.set(keyOf(r), r);
      return;
    }
    const key = keyOf(r);
    const claims = this.claims.get(key);
    if (!claims) this.claims.set(key, [r as EndpointRecord]);
    else {
      const i = claims.findIndex((c) => c.owner === r.owner);
      if (i >= 0) claims[i] = r as EndpointRecord;
      else claims.push(r as EndpointRecord);
    }
  }

  private unindex(r: StateRecord): void {
    const key = keyOf(r);
    if (r.body.kind === 'membership') {
      this.members.delete(key);
      return;
    }
    const claims = this.claims.get(key);
    const i = claims?.findIndex((c) => c.owner === r.owner) ?? -1;
    if (i >= 0) claims!.splice(i, 1);
    if (claims?.length === 0) this.claims.delete(key);
  }

  private recompute(key: string, revision: () => number): void {
    const before = this.entries.get(key);
    const after = this.derive(key);
    if (before?.record === after?.record && before?.frozen === after?.frozen) return;
    if (after) this.serve(key, after);
    else {
      this.entries.delete(key);
      this.frozen.delete(key);
    }
    const change: FdbChange = {
      revision: revision(),
      before: before && entryOf(before),
      after: after && entryOf(after),
    };
    this.changeLog.push(change);
    this.emit('change', change);
  }

  private serve(key: string, served: Served): void {
    this.entries.set(key, served);
    if (served.frozen) this.frozen.add(key);
    else this.frozen.delete(key);
  }

  // What the entry under this key comes from now: the same record object as long as nothing that
  // decides it changed, so an unchanged entry is recognised by identity (and its frozen flag).
  private derive(key: string): Served | undefined {
    const member = this.members.get(key);
    if (member) return this.live(member.owner) ? { record: member, frozen: false } : undefined;
    const decision = decideMac(this.claims.get(key) ?? [], this.live);
    return decision && { record: decision.winner, frozen: decision.frozen };
  }
}

export interface Served {
  record: StateRecord;
  frozen: boolean;
}

export function entryOf({ record: r, frozen }: Served): FdbEntry {
  if (r.body.kind === 'membership')
    return {
      vni: r.body.vni,
      mac: FLOOD_MAC,
      vtep: r.body.vtep,
      node: r.owner,
      kind: 'FDB_ENTRY_KIND_FLOOD',
      version: r.version,
    };
  return {
    vni: r.body.vni,
    mac: r.body.mac,
    vtep: r.body.vtep,
    node: r.owner,
    kind: 'FDB_ENTRY_KIND_UNICAST',
    mobilitySeq: r.body.mobilitySeq,
    frozen,
    version: r.version,
  };
}

function keyOf(r: StateRecord): string {
  return r.body.kind === 'membership' ? floodKey(r.body.vni, r.owner) : unicastKey(r.body.vni, r.body.mac);
}
