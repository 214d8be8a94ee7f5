// Broadcasts waiting to be piggybacked, each sent at most retransmitMult x ceil(log10(n + 1))
// times; the least-sent go first, newest first among equals. A broadcast with a name replaces a
// queued one of the same name (a newer alive about a node makes the older one pointless).
export interface Broadcast {
  name?: string;
  message: Buffer;
  // Called once the broadcast is dropped from the queue (sent enough, or replaced).
  finished?: () => void;
}

interface Entry extends Broadcast {
  transmits: number;
  id: number;
  dropped: boolean;
}

export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

// Entries live in one bucket per transmit count, each bucket in insertion order; replacing by name
// is a lookup, not a scan, so queueing thousands of broadcasts stays linear.
export class TransmitLimitedQueue {
  private readonly buckets: Entry[][] = [];
  private readonly byName = new Map<string, Entry>();
  private live = 0;
  private nextId = 0;

  constructor(
    private readonly retransmitMult: number,
    private readonly numNodes: () => number,
  ) {}

  queue(b: Broadcast): void {
    if (b.name !== undefined) {
      const old = this.byName.get(b.name);
      if (old) this.drop(old);
    }
    const entry: Entry = { ...b, transmits: 0, id: this.nextId++, dropped: false };
    (this.buckets[0] ??= []).push(entry);
    if (b.name !== undefined) this.byName.set(b.name, entry);
    this.live++;
  }

  get length(): number {
    return this.live;
  }

  // As many broadcasts as fit in `limit` bytes, each costing `overhead` more.
  take(overhead: number, limit: number): Buffer[] {
    if (this.live === 0) return [];
    const max = retransmitLimit(this.retransmitMult, this.numNodes());
    const out: Buffer[] = [];
    const sent = new Set<Entry>();
    let used = 0;
    for (let t = 0; t < this.buckets.length && used + overhead < limit; t++) {
      const bucket = this.buckets[t];
      if (!bucket || bucket.length === 0) continue;
      // Newest first within a transmit count.
      for (let i = bucket.length - 1; i >= 0; i--) {
        const e = bucket[i];
        if (used + overhead >= limit) break;
        if (e.dropped || used + overhead + e.message.length > limit) continue;
        used += overhead + e.message.length;
        out.push(e.message);
        sent.add(e);
      }
      this.buckets[t] = bucket.filter((e) => !e.dropped && !sent.has(e));
    }
    for (const e of sent) {
      e.transmits++;
      if (e.transmits >= max) this.drop(e);
      else insertById((this.buckets[e.transmits] ??= []), e);
    }
    return out;
  }

  // Drops the oldest entries beyond maxRetained.
  prune(maxRetained: number): void {
    if (this.live <= maxRetained) return;
    const all = this.buckets
      .flat()
      .filter((e) => !e.dropped)
      .sort((a, b) => a.id - b.id);
    for (const e of all.slice(0, all.length - maxRetained)) this.drop(e);
  }

  reset(): void {
    for (const e of this.buckets.flat()) if (!e.dropped) this.drop(e);
    this.buckets.length = 0;
  }

  private drop(e: Entry): void {
    if (e.dropped) return;
    e.dropped = true;
    this.live--;
    if (e.name !== undefined && this.byName.get(e.name) === e) this.byName.delete(e.name);
    e.finished?.();
  }
}

// Buckets stay sorted oldest to newest (they are read from the end), whatever order entries
// arrive from the bucket below in; usually that is an append.
function insertById(bucket: Entry[], e: Entry): void {
  let lo = 0;
  let hi = bucket.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bucket[mid].id < e.id) lo = mid + 1;
    else hi = mid;
  }
  bucket.splice(lo, 0, e);
}
