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

// One owner holds at most one record per key.
export function recordKey(body: RecordBody): string {
  return body.kind === 'endpoint' ? `ep/${body.vni}/${body.mac}` : `vni/${body.vni}`;
}

export function macKey(vni: number, mac: string): string {
  return `${vni}/${mac}`;
}
