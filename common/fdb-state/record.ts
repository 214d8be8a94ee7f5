import type { Version } from './version';

export type EndpointOrigin = 'learned' | 'api';

// A MAC (and its IPs) the owner hosts in a VNI.
export interface EndpointBody {
  kind: 'endpoint';
  vni: number;
  mac: string;
  ips: string[];
  vtep: string;
  // MAC mobility sequence (RFC 7432 §15): the claim with the highest sequence wins.
  mobilitySeq: number;
  origin: EndpointOrigin;
  // The owner detected a duplicate (the MAC kept moving between it and another host) and stopped
  // contesting it until the freeze ends.
  frozen?: true;
}

// The owner is a VTEP of the VNI: peers flood to it.
export interface MembershipBody {
  kind: 'membership';
  vni: number;
  vtep: string;
}

export type RecordBody = EndpointBody | MembershipBody;

export interface StateRecord {
  owner: string;
  version: Version;
  tombstone: boolean;
  // When the owner issued this version (the owner's clock); convergence latency is measured from it.
  originTimeMs: number;
  body: RecordBody;
}

// Records one owner may hold, tombstones included, in every store (agents and server alike): sized
// for a real host's endpoints and memberships, it bounds what one host (or a ghost) makes everyone keep.
export const DEFAULT_MAX_RECORDS_PER_OWNER = 4096;

// One owner holds at most one record per key.
export function recordKey(body: RecordBody): string {
  return body.kind === 'endpoint' ? endpointRecordKey(body.vni, body.mac) : `vni/${body.vni}`;
}

export function endpointRecordKey(vni: number, mac: string): string {
  return `ep/${vni}/${mac}`;
}

export function macKey(vni: number, mac: string): string {
  return `${vni}/${mac}`;
}

// Two versions of one record that announce the same thing: what a restarted owner re-issues under
// its new incarnation. Only the version and the origin time differ.
export function sameContent(a: StateRecord, b: StateRecord): boolean {
  if (a.tombstone !== b.tombstone || a.body.kind !== b.body.kind || a.body.vtep !== b.body.vtep) return false;
  if (a.body.kind === 'membership' || b.body.kind === 'membership') return a.body.vni === b.body.vni;
  const x = a.body;
  const y = b.body;
  return (
    x.vni === y.vni &&
    x.mac === y.mac &&
    x.mobilitySeq === y.mobilitySeq &&
    x.origin === y.origin &&
    x.frozen === y.frozen &&
    x.ips.length === y.ips.length &&
    x.ips.every((ip, i) => ip === y.ips[i])
  );
}

// The all-zeros MAC of head-end replication entries: one per remote VTEP of a VNI.
export const FLOOD_MAC = '00:00:00:00:00:00';
