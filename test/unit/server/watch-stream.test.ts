import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import BTree from 'sorted-btree';
import { ChangeLog } from '../../../server/change-log';
import { MAX_BUFFERED_EVENTS, MAX_WATCH_LAG, serveWatch, type WatchSource } from '../../../server/watch-stream';
import { EVERY_KEY } from '../../../server/pagination';

interface Change {
  revision: number;
}

// A source whose revisions step as etcd's do (not one by one), and a watcher's stream that has
// stopped reading: everything written stays buffered.
class SteppingSource extends EventEmitter implements WatchSource<Change, string> {
  private readonly log = new ChangeLog<Change>(0);
  private revision = 0;

  constructor(private readonly step: number) {
    super();
  }

  add(n: number): void {
    for (let i = 0; i < n; i++) {
      const change = { revision: (this.revision += this.step) };
      this.log.push(change);
      this.emit('change', change);
    }
  }

  currentRevision = () => this.revision;
  oldestResumableRevision = () => this.log.oldestResumableRevision();
  changesAfter = (revision: number, limit: number) => this.log.after(revision, limit);
  countChangesAfter = (revision: number) => this.log.countAfter(revision);
  snapshot = () => new BTree<string, string>();
}

class StalledStream extends EventEmitter {
  writableLength = 0;
  error: { code: number; details: string } | undefined;

  constructor() {
    super();
    this.on('error', (e: { code: number; details: string }) => (this.error = e));
  }

  write(): boolean {
    this.writableLength++;
    return this.writableLength < MAX_BUFFERED_EVENTS;
  }
}

const turns = (n: number) =>
  new Promise<void>((resolve) => {
    const next = (left: number) => (left === 0 ? resolve() : setImmediate(() => next(left - 1)));
    next(n);
  });

describe('watch streams', () => {
  it('cut a stalled watcher off by the changes it missed, not by how far revisions moved', async () => {
    // 65,536 revisions a change, as etcd's revisions are numbered: a few thousand changes pass 2^32.
    const source = new SteppingSource(65_536);
    source.add(1);
    const call = new StalledStream();
    serveWatch(call as never, source.currentRevision(), source, EVERY_KEY, {
      changeEvent: (c) => c,
      snapshotEvent: () => undefined,
    });
    source.add(MAX_BUFFERED_EVENTS + 100);
    await turns(10);
    assert.equal(call.error, undefined, `cut off after ${MAX_BUFFERED_EVENTS + 100} changes: ${call.error?.details}`);
    source.add(MAX_WATCH_LAG);
    await turns(10);
    const cut = call.error as { details: string } | undefined;
    assert.match(cut?.details ?? '', /fell \d+ changes behind \(at most 50000\); resume with from_revision \d+/);
  });
});
