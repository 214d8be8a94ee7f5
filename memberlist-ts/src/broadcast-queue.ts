// Broadcasts waiting to be piggybacked, each sent at most retransmitMult x ceil(log10(n + 1))
// times; the least-sent go first. A broadcast with a name replaces a queued one of the same name
// (a newer alive about a node makes the older one pointless).
export interface Broadcast {
  name?: string;
  message: Buffer;
  // Called once the broadcast is dropped from the queue (sent enough, or replaced).
  finished?: () => void;
}

interface Entry extends Broadcast {
  transmits: number;
  id: number;
}

export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

export class TransmitLimitedQueue {
  private entries: Entry[] = [];
  private nextId = 0;

  constructor(private readonly retransmitMult: number, private readonly numNodes: () => number) {}

  queue(b: Broadcast): void {
    if (b.name !== undefined) {
      this.entries = this.entries.filter((e) => {
        if (e.name !== b.name) return true;
        e.finished?.();
        return false;
      });
    }
    this.entries.push({ ...b, transmits: 0, id: this.nextId++ });
  }

  get length(): number {
    return this.entries.length;
  }

  // As many broadcasts as fit in `limit` bytes, each costing `overhead` more.
  take(overhead: number, limit: number): Buffer[] {
    if (this.entries.length === 0) return [];
    const max = retransmitLimit(this.retransmitMult, this.numNodes());
    this.entries.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Buffer[] = [];
    let used = 0;
    for (const e of this.entries) {
      if (used + overhead + e.message.length > limit) continue;
      used += overhead + e.message.length;
      out.push(e.message);
      e.transmits++;
    }
    this.entries = this.entries.filter((e) => {
      if (e.transmits < max) return true;
      e.finished?.();
      return false;
    });
    return out;
  }

  // Drops the oldest entries beyond maxRetained.
  prune(maxRetained: number): void {
    if (this.entries.length <= maxRetained) return;
    this.entries.sort((a, b) => a.id - b.id);
    for (const e of this.entries.splice(0, this.entries.length - maxRetained)) e.finished?.();
  }

  reset(): void {
    for (const e of this.entries) e.finished?.();
    this.entries = [];
  }
}
