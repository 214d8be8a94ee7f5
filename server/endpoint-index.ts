import BTree from 'sorted-btree';
import type { EndpointRecord } from '../common/fdb-state/winner-rule';
import type { StateRecord } from '../common/fdb-state/record';
import type { RecordStore } from './record-store';
import { endpointKey } from './endpoint-filter';

const keyOf = (r: EndpointRecord) => endpointKey({ vni: r.body.vni, mac: r.body.mac, node: r.owner });

// Every endpoint the agents replicated, sorted as listings are (VNI, MAC, node) and kept so as
// records change: a page starts where the last one stopped, and a watch's snapshot is a clone that
// costs nothing until the index changes under it.
export class EndpointIndex {
  private readonly byKey = new BTree<string, EndpointRecord>();

  constructor(replicas: RecordStore) {
    for (const r of replicas.all()) this.apply(r);
    // A record's key (VNI, MAC, owner) never changes, so its newest version replaces it in place.
    replicas.on('change', (c) => this.apply(c.after));
  }

  sorted(): BTree<string, EndpointRecord> {
    return this.byKey;
  }

  // The index as it is now, unaffected by later changes: shared nodes are copied only when changed.
  snapshot(): BTree<string, EndpointRecord> {
    return this.byKey.clone();
  }

  private apply(r: StateRecord): void {
    if (r.body.kind !== 'endpoint') return;
    const endpoint = r as EndpointRecord;
    if (r.tombstone) this.byKey.delete(keyOf(endpoint));
    else this.byKey.set(keyOf(endpoint), endpoint);
  }
}
