import type { StateRecord } from '../../common/fdb-state/record';
import type { RecordStore } from './record-store';

// Every change to this node's own records, batched per event-loop turn: one batch feeds gossip and
// one the server link, so changes made together travel together (one packet, one durable write).
export class LocalChangeOutbox {
  private readonly pending: StateRecord[] = [];
  private readonly sinks: Array<(records: StateRecord[]) => void> = [];

  constructor(store: RecordStore) {
    store.on('change', ({ after, local }) => {
      if (local) this.add(after);
    });
  }

  subscribe(sink: (records: StateRecord[]) => void): void {
    this.sinks.push(sink);
  }

  private add(record: StateRecord): void {
    this.pending.push(record);
    if (this.pending.length > 1) return;
    setImmediate(() => {
      const batch = this.pending.splice(0);
      for (const sink of this.sinks) sink(batch);
    });
  }
}
