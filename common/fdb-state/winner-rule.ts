import type { EndpointBody, StateRecord } from './record';

export type EndpointRecord = StateRecord & { body: EndpointBody };

// What every host programs for one MAC in one VNI, and what the server serves for it.
export interface MacDecision {
  winner: EndpointRecord;
  // A claimant froze the MAC as a duplicate: it stopped contesting, so the claims stand still.
  frozen: boolean;
  // Every live claim, the winner among them.
  claims: EndpointRecord[];
}

// The one winner rule, applied by every agent's view and by the server's index, so that they agree
// whenever they hold the same records. Only claims of live owners count. RFC 7432 §15.2: the highest
// mobility sequence wins; on a tie every node must pick the same claim, so the lower owner name wins.
// Freezing needs no rule of its own: a claimant that detects a duplicate stops out-bidding and marks
// its claim frozen, which is visible to all.
export function decideMac(claims: Iterable<EndpointRecord>, live: (owner: string) => boolean): MacDecision | undefined {
  let winner: EndpointRecord | undefined;
  let frozen = false;
  const counted: EndpointRecord[] = [];
  for (const c of claims) {
    if (c.tombstone || !live(c.owner)) continue;
    counted.push(c);
    frozen ||= c.body.frozen === true;
    if (!winner || beats(c, winner)) winner = c;
  }
  return winner && { winner, frozen, claims: counted };
}

// Why an attach of a MAC the rule gives to another host is refused, by the server and by the agent
// alike: attached here too, the two hosts would out-bid each other until one freezes it.
export function announcedElsewhere(vni: number, mac: string, holder: string): string {
  return `MAC ${mac} is already announced in VNI ${vni} by host ${holder}; detach it there first`;
}

function beats(a: EndpointRecord, b: EndpointRecord): boolean {
  return a.body.mobilitySeq > b.body.mobilitySeq || (a.body.mobilitySeq === b.body.mobilitySeq && a.owner < b.owner);
}
