import * as grpc from '@grpc/grpc-js';
import type BTree from 'sorted-btree';
import { checkUint64 } from '../common/validation';
import { KeyRange, walk } from './pagination';
import { endStream } from './rpc';

// Where a watch reads: revisions, the changes still held, a snapshot of the current items, and
// word of each new change.
export interface WatchSource<Change, Item> {
  currentRevision(): number;
  oldestResumableRevision(): number;
  changesAfter(revision: number, limit: number): Change[];
  // How many changes are held after `revision`.
  countChangesAfter(revision: number): number;
  snapshot(): BTree<string, Item>;
  on(event: 'change', listener: (c: Change) => void): unknown;
  off(event: 'change', listener: (c: Change) => void): unknown;
}

// What one watch sends: the events its filter makes of changes and of snapshot items.
export interface WatchView<Change, Item, Event> {
  changeEvent(c: Change): Event | undefined;
  snapshotEvent(item: Item, revision: number): Event | undefined;
}

// How far behind the newest revision a watcher may fall before it is cut off: half of what the
// change logs hold, so the revision it is told to resume from is still held when it comes back.
export const MAX_WATCH_LAG = 50_000;
// Events a watch stream may hold unsent. grpc-js's own mark (16) would make every 16 events wait for
// a round of write callbacks; a client that stops reading still costs only this many.
export const MAX_BUFFERED_EVENTS = 1024;
const READ_AHEAD = 64;
// Snapshot items or changes examined per turn of the event loop, so one large watch cannot hold up
// every other call.
const STEPS_PER_TURN = 1000;

type Stream<Event> = grpc.ServerWritableStream<unknown, Event>;

// Snapshot of the items in `range` (or the changes after a revision still held), then live changes,
// in revision order.
// The stream pulls: it is written to only while it has room, and resumes on 'drain', so a watcher
// that stops reading holds no more than MAX_BUFFERED_EVENTS. The snapshot is a clone of the index
// walked as the stream drains; the changes come from the source's change log at the watcher's own
// position. A watcher that falls too far behind is cut off with the revision to resume from.
export function serveWatch<Change extends { revision: number }, Item, Event>(
  call: Stream<Event>,
  from: string | number,
  source: WatchSource<Change, Item>,
  range: KeyRange,
  view: WatchView<Change, Item, Event>,
): void {
  let fromRevision: number;
  try {
    fromRevision = checkUint64('from_revision', from);
  } catch (err) {
    return endStream(call, grpc.status.INVALID_ARGUMENT, (err as Error).message);
  }
  if (fromRevision > source.currentRevision())
    return endStream(
      call,
      grpc.status.OUT_OF_RANGE,
      `revision ${fromRevision} is ahead of the server's ${source.currentRevision()} (the server restarted); watch again without from_revision`,
    );
  if (fromRevision > 0 && fromRevision < source.oldestResumableRevision())
    return endStream(
      call,
      grpc.status.OUT_OF_RANGE,
      `revision ${fromRevision} was compacted (oldest resumable: ${source.oldestResumableRevision()}); watch again without from_revision`,
    );
  new WatchPump(call, source, view, fromRevision, range).start();
}

class WatchPump<Change extends { revision: number }, Item, Event> {
  // The revision of the last change taken from the log (sent, or filtered out), or the snapshot's.
  private position: number;
  private snapshot?: Iterator<[string, Item]>;
  // Changes read from the log ahead of sending, a few at a time: one search of the log per batch.
  private pending: Change[] = [];
  private blocked = false;
  private scheduled = false;
  // Every change in the log has been taken and none came since: the next one is sent as it happens,
  // as a watcher that keeps up is best served (no turn of the event loop per change).
  private caughtUp = false;
  private ended = false;

  constructor(
    private readonly call: Stream<Event>,
    private readonly source: WatchSource<Change, Item>,
    private readonly view: WatchView<Change, Item, Event>,
    fromRevision: number,
    range: KeyRange,
  ) {
    this.position = fromRevision > 0 ? fromRevision : source.currentRevision();
    if (fromRevision === 0) this.snapshot = walk(source.snapshot(), range);
  }

  start(): void {
    this.source.on('change', this.onChange);
    this.call.on('drain', this.onDrain);
    for (const event of ['cancelled', 'close', 'error', 'finish']) this.call.on(event, this.stop);
    this.schedule();
  }

  private readonly onChange = (c: Change) => {
    if (this.caughtUp && !this.blocked) {
      this.position = c.revision;
      return this.send(this.view.changeEvent(c));
    }
    this.caughtUp = false;
    const behind = this.source.countChangesAfter(this.position);
    if (behind <= MAX_WATCH_LAG) return this.schedule();
    this.stop();
    endStream(
      this.call,
      grpc.status.RESOURCE_EXHAUSTED,
      this.snapshot
        ? `the watcher read its snapshot too slowly: ${behind} changes were made meanwhile (at most ${MAX_WATCH_LAG}); watch again without from_revision`
        : `the watcher fell ${behind} changes behind (at most ${MAX_WATCH_LAG}); resume with from_revision ${this.position}`,
    );
  };

  private readonly onDrain = () => {
    this.blocked = false;
    this.schedule();
  };

  private readonly stop = () => {
    this.ended = true;
    this.snapshot = undefined;
    this.source.off('change', this.onChange);
    this.call.off('drain', this.onDrain);
  };

  private schedule(): void {
    if (this.scheduled || this.blocked || this.ended) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    for (let step = 0; step < STEPS_PER_TURN && !this.ended && !this.blocked; step++) {
      const next = this.next();
      if (next === 'idle') {
        this.caughtUp = true;
        return;
      }
      this.send(next.event);
    }
    this.schedule();
  }

  private send(event: Event | undefined): void {
    if (event === undefined) return;
    // Past grpc-js's mark, write() returns false and 'drain' follows once the buffer is empty.
    this.call.write(event);
    if (this.call.writableLength < MAX_BUFFERED_EVENTS) return;
    this.blocked = true;
    this.caughtUp = false;
  }

  // The next event to send, or { event: undefined } for a step that sends nothing (an item or change
  // the filter leaves out); 'idle' when nothing is left until the next change.
  private next(): { event: Event | undefined } | 'idle' {
    if (this.snapshot) {
      const step = this.snapshot.next();
      if (!step.done) return { event: this.view.snapshotEvent(step.value[1], this.position) };
      this.snapshot = undefined;
      return { event: { type: 'EVENT_TYPE_SNAPSHOT_END', revision: this.position } as Event };
    }
    if (this.pending.length === 0) this.pending = this.source.changesAfter(this.position, READ_AHEAD).reverse();
    const change = this.pending.pop();
    if (!change) return 'idle';
    this.position = change.revision;
    return { event: this.view.changeEvent(change) };
  }
}
