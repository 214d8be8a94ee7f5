import { MembershipBody, StateRecord, macKey } from './record';
import { EndpointRecord, MoveTracker, winningClaim } from './mobility';
import type { RecordStore } from './record-store';

export interface FloodTarget {
  vni: number;
  vtep: string;
  owner: string;
}

export interface DesiredRemote {
  floods: FloodTarget[];
  // The winning claim of every MAC hosted elsewhere, in VNIs this host is a member of.
  endpoints: EndpointRecord[];
}

export interface ViewContext {
  // Whether gossip considers the owner alive; a dead or departed owner's records are withdrawn
  // (kept in the store, so they come back if it returns).
  alive(owner: string): boolean;
  // The VNIs realised on this host.
  localVnis: ReadonlySet<number>;
}

// Turns the record store into what this host must program for remote VTEPs, deciding MAC moves
// (and freezing duplicates) along the way.
export class FdbView {
  private readonly winners = new Map<string, EndpointRecord>();

  constructor(private readonly store: RecordStore, private readonly tracker: MoveTracker, private readonly onDuplicate: (key: string, claims: EndpointRecord[]) => void = () => undefined) {}

  compute(ctx: ViewContext): DesiredRemote {
    const floods: FloodTarget[] = [];
    const claims = new Map<string, EndpointRecord[]>();
    for (const r of this.store.live()) {
      if (!ctx.alive(r.owner) && r.owner !== this.store.node) continue;
      if (r.body.kind === 'membership') {
        if (r.owner !== this.store.node && ctx.localVnis.has(r.body.vni)) floods.push(floodOf(r as StateRecord & { body: MembershipBody }));
        continue;
      }
      const key = macKey(r.body.vni, r.body.mac);
      const list = claims.get(key);
      if (list) list.push(r as EndpointRecord);
      else claims.set(key, [r as EndpointRecord]);
    }

    const endpoints: EndpointRecord[] = [];
    for (const [key, list] of claims) {
      const winner = this.decide(key, list);
      if (winner.owner !== this.store.node && ctx.localVnis.has(winner.body.vni)) endpoints.push(winner);
    }
    for (const key of this.winners.keys()) if (!claims.has(key)) this.winners.delete(key);
    return { floods, endpoints };
  }

  isFrozen(vni: number, mac: string): boolean {
    return this.tracker.isFrozen(macKey(vni, mac));
  }

  private decide(key: string, claims: EndpointRecord[]): EndpointRecord {
    const best = winningClaim(claims)!;
    const previous = this.winners.get(key);
    if (previous && previous.owner !== best.owner) {
      const stillClaimed = claims.find((c) => c.owner === previous.owner);
      if (this.tracker.isFrozen(key) && stillClaimed) return stillClaimed;
      if (this.tracker.recordMove(key)) {
        this.onDuplicate(key, claims);
        if (stillClaimed) return stillClaimed;
      }
    }
    this.winners.set(key, best);
    return best;
  }
}

function floodOf(r: StateRecord & { body: MembershipBody }): FloodTarget {
  return { vni: r.body.vni, vtep: r.body.vtep, owner: r.owner };
}
