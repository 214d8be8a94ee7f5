import type { EndpointRecord } from '../../common/fdb-state/winner-rule';

// An endpoint record as a peer announces it (live, version 1.1, attached through the API): what the
// kernel writers' tests program.
export const announcedEndpoint = (e: {
  owner?: string;
  vni: number;
  mac?: string;
  vtep: string;
  ips: string[];
}): EndpointRecord => ({
  owner: e.owner ?? 'h2',
  version: { incarnation: 1, counter: 1 },
  tombstone: false,
  originTimeMs: 0,
  body: {
    kind: 'endpoint',
    vni: e.vni,
    mac: e.mac ?? '02:00:00:00:00:99',
    ips: e.ips,
    vtep: e.vtep,
    mobilitySeq: 0,
    origin: 'api',
  },
});
