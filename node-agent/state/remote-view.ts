import { MembershipBody, StateRecord, macKey, recordKey, sameContent } from '../../common/fdb-state/record';
import { EndpointRecord, decideMac } from '../../common/fdb-state/winner-rule';
import type { RecordChange, RecordStore } from './record-store';

export interface FloodTarget {
  vni: number;
  vtep: string;
  owner: string;
}

// What this host must program for remote VTEPs.
export interface DesiredRemote {
  floods: FloodTarget[];
  // The winning claim of every MAC hosted elsewhere, in VNIs this host is a member of.
  endpoints: EndpointRecord[];
}

export interface ViewContext {
  // Whether gossip considers the owner alive (this node always is); a dead or departed owner's
  // records are withdrawn (kept in the store, so they come back if it returns).
  alive: (owner: string) => boolean;
  // The VNIs realised on this host.
  localVnis: ReadonlySet<number>;
}

// Where remote FDB entries are computed: the record store turned into one flood target per remote
// member of a local VNI and, per MAC, the claim the shared winner rule picks.
export function desiredRemote(store: RecordStore, ctx: ViewContext): DesiredRemote {
  const self = store.node;
  const live = ctx.alive;
  const floods: FloodTarget[] = [];
  const claims = new Map<string, EndpointRecord[]>();
  for (const r of store.live()) {
    if (!ctx.localVnis.has(r.body.vni) || !live(r.owner)) continue;
    if (r.body.kind === 'membership') {
      if (r.owner !== self) floods.push(floodOf(r as StateRecord & { body: MembershipBody }));
      continue;
    }
    const key = macKey(r.body.vni, r.body.mac);
    const list = claims.get(key);
    if (list) list.push(r as EndpointRecord);
    else claims.set(key, [r as EndpointRecord]);
  }
  const endpoints: EndpointRecord[] = [];
  for (const list of claims.values()) {
    const winner = decideMac(list, live)!.winner;
    if (winner.owner !== self) endpoints.push(winner);
  }
  return { floods, endpoints };
}

function floodOf(r: StateRecord & { body: MembershipBody }): FloodTarget {
  return { vni: r.body.vni, vtep: r.body.vtep, owner: r.owner };
}

// Whether a record change can change what this host programs. A peer re-issuing what it announced
// already (a restart's new incarnation) cannot: at 10,000 records, a pass to find that out costs
// every host a quarter of a second. A change of our own matters only to a MAC another host claims
// too: withdrawing (or losing) our claim hands the MAC to theirs.
export function affectsRemoteView(change: RecordChange, store: RecordStore): boolean {
  const { local, before, after } = change;
  if (!local) return !before || !sameContent(before, after);
  return store.liveFor(recordKey(after.body)).some((c) => c.owner !== store.node);
}
