import { EndpointRecord, winningClaim } from '../common/fdb-state/mobility';
import { StateRecord, macKey } from '../common/fdb-state/record';
import type { Endpoint } from '../generated/vxgossip/v1/Endpoint';
import type { FdbEntry } from '../generated/vxgossip/v1/FdbEntry';

export interface Filter {
  vni: number;
  node: string;
  mac: string;
}

export const matches = (f: Filter, vni: number, node: string, mac?: string) =>
  (f.vni === 0 || f.vni === vni) && (f.node === '' || f.node === node) && (f.mac === '' || mac === undefined || f.mac === mac);

export function endpointOf(r: EndpointRecord): Endpoint {
  const b = r.body;
  return {
    vni: b.vni, mac: b.mac, ips: b.ips, node: r.owner, vtep: b.vtep, mobilitySeq: b.mobilitySeq,
    origin: b.origin === 'api' ? 'ENDPOINT_ORIGIN_API' : 'ENDPOINT_ORIGIN_LEARNED', version: r.version, originTimeMs: r.originTimeMs,
  };
}

export const endpointKey = (e: { vni?: number; mac?: string; node?: string }) => `${String(e.vni).padStart(8, '0')}/${e.mac}/${e.node}`;

// What every host programs, as the server sees it: the winning claim of each MAC (unicast) and one
// flood entry per VNI member, from records of owners that are not known to be dead.
export function deriveFdb(records: Iterable<StateRecord>, live: (owner: string) => boolean): FdbEntry[] {
  const claims = new Map<string, EndpointRecord[]>();
  const out: FdbEntry[] = [];
  for (const r of records) {
    if (r.tombstone || !live(r.owner)) continue;
    if (r.body.kind === 'membership') {
      out.push({ vni: r.body.vni, mac: '00:00:00:00:00:00', vtep: r.body.vtep, node: r.owner, kind: 'FDB_ENTRY_KIND_FLOOD', version: r.version });
      continue;
    }
    const key = macKey(r.body.vni, r.body.mac);
    const list = claims.get(key) ?? [];
    list.push(r as EndpointRecord);
    claims.set(key, list);
  }
  for (const list of claims.values()) {
    const w = winningClaim(list)!;
    out.push({ vni: w.body.vni, mac: w.body.mac, vtep: w.body.vtep, node: w.owner, kind: 'FDB_ENTRY_KIND_UNICAST', mobilitySeq: w.body.mobilitySeq, version: w.version });
  }
  return out.sort((a, b) => fdbKey(a).localeCompare(fdbKey(b)));
}

export const fdbKey = (e: FdbEntry) => `${String(e.vni).padStart(8, '0')}/${e.mac}/${e.kind === 'FDB_ENTRY_KIND_FLOOD' ? e.node : ''}`;
