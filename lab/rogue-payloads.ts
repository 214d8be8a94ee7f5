import type { GossipMessage } from '../generated/vxgossip/v1/GossipMessage';
import type { Record } from '../generated/vxgossip/v1/Record';

// The gossip payloads of the attacks a rogue member replays: plain objects (they travel to the rogue
// process as JSON) that the rogue encodes with the agents' own codec. Every number stays within
// Number.MAX_SAFE_INTEGER, so JSON carries it exactly.

export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

// A configuration no server wrote: no VNI at all, at a revision far ahead of any real one.
export function configWipe(revision = 1e15): GossipMessage {
  return { config: { revision, vnis: [] } };
}

export interface ForgedEndpoint {
  owner: string;
  vtep: string;
  vni: number;
  mac: string;
  ips?: string[];
  mobilitySeq?: number;
  tombstone?: boolean;
  // Defaults to the first version any owner issues: a claim needs no inflated version to be news.
  incarnation?: number;
  counter?: number;
}

export function endpointRecord(e: ForgedEndpoint): Record {
  return {
    owner: e.owner,
    version: { incarnation: e.incarnation ?? 1, counter: e.counter ?? 1 },
    tombstone: e.tombstone ?? false,
    originTimeMs: Date.now(),
    endpoint: {
      vni: e.vni,
      mac: e.mac,
      ips: e.ips ?? [],
      node: e.owner,
      vtep: e.vtep,
      mobilitySeq: e.mobilitySeq ?? 0,
      origin: 'ENDPOINT_ORIGIN_API',
    },
  };
}

export function membershipRecord(
  owner: string,
  vtep: string,
  vni: number,
  version: { incarnation: number; counter: number } = { incarnation: 1, counter: 1 },
): Record {
  return { owner, version, tombstone: false, originTimeMs: Date.now(), membership: { vni, node: owner, vtep } };
}

export function records(list: Record[]): GossipMessage {
  return { records: { records: list } };
}

// The same records as a join snapshot (what a member answers a push/pull with).
export function snapshot(list: Record[]): GossipMessage {
  return { snapshot: { digest: { node: '', configRevision: 0, owners: [] }, records: list } };
}

// Records for another owner at the highest version a peer accepts: a tombstone of one of its
// endpoints and a live endpoint it never had. Its refutation would need a version past the bound.
export function forgedOwnerRecords(
  owner: string,
  vtep: string,
  vni: number,
  victim: { mac: string; ips: string[] },
  invented: string,
): Record[] {
  const top = { incarnation: MAX_VERSION, counter: MAX_VERSION };
  return [
    endpointRecord({ owner, vtep, vni, ...victim, tombstone: true, ...top }),
    endpointRecord({ owner, vtep, vni, mac: invented, ...top }),
  ];
}

// Another host's MAC claimed for the rogue's VTEP with a mobility sequence no counter-claim can beat.
export function macClaim(owner: string, vtep: string, vni: number, mac: string, ips: string[] = []): Record {
  return endpointRecord({ owner, vtep, vni, mac, ips, mobilitySeq: MAX_VERSION });
}
