import { EndpointRecord, nextMobilitySeq, winningClaim } from '../common/fdb-state/mobility';
import { EndpointBody, RecordBody, recordKey } from '../common/fdb-state/record';
import type { RecordStore } from '../common/fdb-state/record-store';
import type { LocalEndpoint } from './local-endpoints';

export interface LocalRecordChanges {
  issued: number;
  withdrawn: number;
}

const claimsFor = (store: RecordStore, key: string) => store.liveFor(key) as EndpointRecord[];

// Makes this node's records say what this host has: one membership per realised VNI and one
// endpoint per local MAC; everything else it owns is withdrawn (a tombstone, not a silence).
//
// Mobility: a claim keeps its sequence while it stands. A MAC seen here while another host's claim
// wins is fresh evidence of a move (the loser's kernel entry was replaced by the winner's, so a
// local entry can only be new) and is claimed one above every other live claim — from the live
// view, never a remembered number. A frozen (duplicate) MAC is not re-claimed.
export function syncLocalRecords(
  store: RecordStore,
  vtep: string,
  vnis: number[],
  endpoints: LocalEndpoint[],
  isFrozen: (vni: number, mac: string) => boolean,
): LocalRecordChanges {
  const changes: LocalRecordChanges = { issued: 0, withdrawn: 0 };
  const wanted = new Set<string>();
  const issue = (body: RecordBody) => {
    const before = store.get(store.node, recordKey(body));
    const after = store.issue(body);
    if (after !== before) changes.issued++;
  };
  for (const vni of vnis) {
    const body: RecordBody = { kind: 'membership', vni, vtep };
    wanted.add(recordKey(body));
    issue(body);
  }
  for (const ep of endpoints) {
    if (!vnis.includes(ep.vni)) continue;
    const key = recordKey({ kind: 'endpoint', vni: ep.vni, mac: ep.mac } as EndpointBody);
    wanted.add(key);
    const claims = claimsFor(store, key);
    const ours = claims.find((c) => c.owner === store.node);
    const winning = winningClaim(claims);
    let mobilitySeq = ours?.body.mobilitySeq ?? nextMobilitySeq(store.node, claims);
    if (ours && winning && winning.owner !== store.node && !isFrozen(ep.vni, ep.mac)) mobilitySeq = nextMobilitySeq(store.node, claims);
    issue({ kind: 'endpoint', vni: ep.vni, mac: ep.mac, ips: [...ep.ips].sort(), vtep, mobilitySeq, origin: ep.origin });
  }
  for (const r of store.owned()) {
    const key = recordKey(r.body);
    if (!r.tombstone && !wanted.has(key) && store.withdraw(key)) changes.withdrawn++;
  }
  return changes;
}
