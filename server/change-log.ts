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
    // Trimmed in steps of a tenth: dropping one change per push would move the whole log each time.
    if (this.changes.length > this.capacity + Math.ceil(this.capacity / 10)) {
      const dropped = this.changes.splice(0, this.changes.length - this.capacity);
      this.compactedThrough = dropped[dropped.length - 1].revision;
    }
  }

  oldestResumableRevision(): number {
    return this.compactedThrough;
  }

  // Up to `limit` changes after `revision`, oldest first.
  after(revision: number, limit: number): Change[] {
    const first = this.firstAfter(revision);
    return this.changes.slice(first, first + limit);
  }

  // How many changes the log holds after `revision`: how far behind a watcher there is (revisions
  // themselves need not be consecutive).
  countAfter(revision: number): number {
    return this.changes.length - this.firstAfter(revision);
  }

  // Revisions increase along the log, so the first is found by binary search: a watcher reads its next
  // few without copying the whole tail.
  private firstAfter(revision: number): number {
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.changes[mid].revision > revision) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
