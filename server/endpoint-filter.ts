import type { EndpointRecord } from '../common/fdb-state/winner-rule';
import { endpointToProto } from '../common/record-proto';
import type { Endpoint } from '../generated/vxgossip/v1/Endpoint';
import type { FdbEntry } from '../generated/vxgossip/v1/FdbEntry';
import { EVERY_KEY, KeyRange, sortKey } from './pagination';

// The filter listings and watches share; empty fields match everything.
export interface Filter {
  vni: number;
  node: string;
  mac: string;
}

export const matches = (f: Filter, vni: number, node: string, mac?: string) =>
  (f.vni === 0 || f.vni === vni) &&
  (f.node === '' || f.node === node) &&
  (f.mac === '' || mac === undefined || f.mac === mac);

export const endpointOf = (r: EndpointRecord): Endpoint => ({
  ...endpointToProto(r.owner, r.body),
  version: r.version,
  originTimeMs: r.originTimeMs,
});

export const endpointKey = (e: { vni?: number; mac?: string; node?: string }) =>
  sortKey(e.vni ?? 0, e.mac ?? '', e.node ?? '');

export const fdbKey = (e: FdbEntry) =>
  sortKey(e.vni ?? 0, e.mac ?? '', e.kind === 'FDB_ENTRY_KIND_FLOOD' ? (e.node ?? '') : '');

// The part of the (VNI, MAC, node)-sorted indexes a filter can match: its VNI's keys, or its MAC's
// in that VNI ('0' follows the '/' that ends the prefix).
export function keyRangeOf(f: Filter): KeyRange {
  if (f.vni === 0) return EVERY_KEY;
  const prefix = f.mac === '' ? sortKey(f.vni) : sortKey(f.vni, f.mac);
  return { from: `${prefix}/`, to: `${prefix}0` };
}
