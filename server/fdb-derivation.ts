import type { EndpointRecord } from '../common/fdb-state/mobility';
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

export const fdbKey = (e: FdbEntry) => `${String(e.vni).padStart(8, '0')}/${e.mac}/${e.kind === 'FDB_ENTRY_KIND_FLOOD' ? e.node : ''}`;
