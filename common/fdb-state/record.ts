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
  // Attached through the API (ctl, CNI, Docker): where the workload is, as `ctl endpoint detach` takes
  // it (a namespace name, a runtime's path or label), and its interface there.
  netns?: string;
  interface?: string;
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

// Two bodies that announce the same thing, field by field (not by serialising: key order would count).
export function sameBody(a: RecordBody, b: RecordBody): boolean {
  if (a.kind !== b.kind || a.vni !== b.vni || a.vtep !== b.vtep) return false;
  if (a.kind === 'membership' || b.kind === 'membership') return true;
  return (
    a.mac === b.mac &&
    a.mobilitySeq === b.mobilitySeq &&
    a.origin === b.origin &&
    a.frozen === b.frozen &&
    a.netns === b.netns &&
    a.interface === b.interface &&
    a.ips.length === b.ips.length &&
    a.ips.every((ip, i) => ip === b.ips[i])
  );
}

// Two versions of one record that announce the same thing: what a restarted owner re-issues under
// its new incarnation. Only the version and the origin time differ.
export function sameContent(a: StateRecord, b: StateRecord): boolean {
  return a.tombstone === b.tombstone && sameBody(a.body, b.body);
}

// The all-zeros MAC of head-end replication entries: one per remote VTEP of a VNI.
export const FLOOD_MAC = '00:00:00:00:00:00';
