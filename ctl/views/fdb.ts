import type { FdbEntry__Output } from '../../generated/vxgossip/v1/FdbEntry';
import type { Duplicate__Output } from '../../generated/vxgossip/v1/Duplicate';
import type { Resource } from './resource';
import { EndpointView, endpointView } from './endpoint';
import { VersionView, cell, int64, versionCell, versionView, yesNo } from './values';

// One entry of the server's forwarding view: a MAC's winning claim (unicast), or a member's VTEP
// in a VNI's flood list (flood, MAC 00:00:00:00:00:00).
export interface FdbEntryView {
  vni: number;
  mac: string;
  vtep: string;
  node: string;
  kind: 'unicast' | 'flood';
  mobilitySeq: number;
  frozen: boolean;
  version: VersionView | null;
}

export function fdbEntryView(e: FdbEntry__Output): FdbEntryView {
  return {
    vni: e.vni,
    mac: e.mac,
    vtep: e.vtep,
    node: e.node,
    kind: e.kind === 'FDB_ENTRY_KIND_FLOOD' ? 'flood' : 'unicast',
    mobilitySeq: int64('mobilitySeq', e.mobilitySeq),
    frozen: e.frozen,
    version: versionView(e.version),
  };
}

export const fdbResource: Resource<FdbEntryView> = {
  kind: 'fdb',
  // A unicast MAC has one winner per VNI; the flood list has one entry per member.
  name: (e) => `${e.vni}/${e.mac}${e.kind === 'flood' ? `/${e.node}` : ''}`,
  columns: [
    { header: 'VNI', cell: (e) => e.vni },
    { header: 'MAC', cell: (e) => e.mac },
    { header: 'VTEP', cell: (e) => e.vtep },
    { header: 'NODE', cell: (e) => e.node },
    { header: 'KIND', cell: (e) => e.kind },
    { header: 'SEQ', cell: (e) => e.mobilitySeq },
    { header: 'FROZEN', cell: (e) => yesNo(e.frozen) },
    { header: 'VERSION', cell: (e) => versionCell(e.version), wide: true },
  ],
};

// A MAC frozen as a duplicate: the entry every host programs for it while frozen, and every claim
// on it (a frozen claim belongs to a host that stopped contesting it).
export interface DuplicateView {
  entry: FdbEntryView | null;
  claims: EndpointView[];
}

export function duplicateView(d: Duplicate__Output): DuplicateView {
  return { entry: d.entry && fdbEntryView(d.entry), claims: d.claims.map(endpointView) };
}

export const duplicateResource: Resource<DuplicateView> = {
  kind: 'duplicate',
  name: (d) => (d.entry ? `${d.entry.vni}/${d.entry.mac}` : '-'),
  columns: [
    { header: 'VNI', cell: (d) => cell(d.entry?.vni ?? null) },
    { header: 'MAC', cell: (d) => cell(d.entry?.mac ?? null) },
    { header: 'VTEP', cell: (d) => cell(d.entry?.vtep ?? null) },
    { header: 'NODE', cell: (d) => cell(d.entry?.node ?? null) },
    {
      header: 'CLAIMS (NODE:SEQ)',
      cell: (d) => d.claims.map((x) => `${x.node}${x.frozen ? '(frozen)' : ''}:${x.mobilitySeq}`).join(','),
    },
  ],
};
