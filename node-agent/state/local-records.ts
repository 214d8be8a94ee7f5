import { RecordBody, endpointRecordKey, recordKey } from '../../common/fdb-state/record';
import { EndpointRecord, decideMac } from '../../common/fdb-state/winner-rule';
import type { LocalEndpoint } from '../kernel/local-endpoint-scan';
import type { DuplicateDetector } from './duplicate-detector';
import type { RecordStore } from './record-store';

export interface LocalRecordChanges {
  issued: number;
  withdrawn: number;
  // Local endpoints not announced: this host holds as many records as an owner may.
  overLimit: number;
  // MACs this pass froze as duplicates.
  froze: Array<{ vni: number; mac: string; claimants: string[] }>;
}

export interface LocalRecordInputs {
  vtep: string;
  // The VNIs realised on this host.
  vnis: number[];
  endpoints: LocalEndpoint[];
  // Whether gossip considers the owner alive (this node always is).
  alive: (owner: string) => boolean;
  duplicates: DuplicateDetector;
}

// The sequence that beats every other live claim: the live view, never a remembered number, so a
// stale number kept across a restart cannot decide a move.
function nextMobilitySeq(self: string, claims: EndpointRecord[]): number {
  return Math.max(-1, ...claims.filter((c) => c.owner !== self).map((c) => c.body.mobilitySeq)) + 1;
}

// Makes this node's records say what this host has: one membership per realised VNI and one
// endpoint per local MAC; everything else it owns is withdrawn (a tombstone, not a silence).
//
// Mobility: a claim keeps its sequence while it stands. A MAC seen here while another host's claim
// wins is fresh evidence of a move (the loser's kernel entry was replaced by the winner's, so a
// local entry can only be new) and is claimed one above every other live claim — unless the
// duplicate detector says the MAC keeps bouncing: then it is frozen and not re-claimed.
export function syncLocalRecords(store: RecordStore, inputs: LocalRecordInputs): LocalRecordChanges {
  const { vtep, vnis, endpoints, alive, duplicates } = inputs;
  const self = store.node;
  const changes: LocalRecordChanges = { issued: 0, withdrawn: 0, overLimit: 0, froze: [] };
  const wanted = new Set<string>();
  const issue = (body: RecordBody) => {
    wanted.add(recordKey(body));
    const before = store.get(self, recordKey(body));
    // Peers would refuse it: announced once withdrawals make room.
    if (!before && store.full(self)) changes.overLimit++;
    else if (store.issue(body) !== before) changes.issued++;
  };
  for (const vni of vnis) issue({ kind: 'membership', vni, vtep });
  for (const ep of endpoints) {
    if (!vnis.includes(ep.vni)) continue;
    const key = endpointRecordKey(ep.vni, ep.mac);
    const decision = decideMac(store.liveFor(key) as EndpointRecord[], alive);
    const ours = decision?.claims.find((c) => c.owner === self);
    let mobilitySeq = ours?.body.mobilitySeq ?? 0;
    if (decision && decision.winner.owner !== self) {
      const verdict = duplicates.move(ep.vni, ep.mac);
      if (verdict === 'moved') mobilitySeq = nextMobilitySeq(self, decision.claims);
      if (verdict === 'froze')
        changes.froze.push({ vni: ep.vni, mac: ep.mac, claimants: decision.claims.map((c) => c.owner) });
    }
    const frozen = duplicates.isFrozen(ep.vni, ep.mac);
    issue({
      kind: 'endpoint',
      vni: ep.vni,
      mac: ep.mac,
      ips: [...ep.ips].sort(),
      vtep,
      mobilitySeq,
      origin: ep.origin,
      ...(frozen ? { frozen: true as const } : {}),
      ...(ep.netns !== undefined ? { netns: ep.netns } : {}),
      ...(ep.interface !== undefined ? { interface: ep.interface } : {}),
    });
  }
  for (const r of store.owned()) {
    const key = recordKey(r.body);
    if (!r.tombstone && !wanted.has(key) && store.withdraw(key)) changes.withdrawn++;
  }
  return changes;
}
