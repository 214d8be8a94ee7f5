// The most recent changes of a revisioned source, for watches resuming from a revision. Bounded:
// older changes are dropped, and a watch from before them must start over with a snapshot.
export class ChangeLog<Change extends { revision: number }> {
  private readonly changes: Change[] = [];

  // `compactedThrough`: watches may resume from any revision after this one.
  constructor(
    private compactedThrough: number,
    private readonly capacity = 100_000,
  ) {}

  push(change: Change): void {
    this.changes.push(change);
    if (this.changes.length > this.capacity) {
      const dropped = this.changes.splice(0, this.changes.length - this.capacity);
      this.compactedThrough = dropped[dropped.length - 1].revision;
    }
  }

  oldestResumableRevision(): number {
    return this.compactedThrough;
  }

  // Revisions increase along the log: binary search for the first one after `revision`.
  since(revision: number): Change[] {
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.changes[mid].revision > revision) hi = mid;
      else lo = mid + 1;
    }
    return this.changes.slice(lo);
  }
}
