import type { FdbEntry__Output } from '../../generated/vxgossip/v1/FdbEntry';
import type { Duplicate__Output } from '../../generated/vxgossip/v1/Duplicate';
import type { Resource } from './resource';
import { VersionView, int64, versionCell, versionView, yesNo } from './values';

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

// A MAC frozen as a duplicate: where every host sends it while frozen, and every host claiming it
// (a frozen claim stopped contesting).
export interface DuplicateView {
  vni: number;
  mac: string;
  vtep: string;
  node: string;
  claims: Array<{ node: string; vtep: string; mobilitySeq: number; frozen: boolean }>;
}

export function duplicateView(d: Duplicate__Output): DuplicateView {
  const entry = d.entry;
  return {
    vni: entry?.vni ?? 0,
    mac: entry?.mac ?? '',
    vtep: entry?.vtep ?? '',
    node: entry?.node ?? '',
    claims: d.claims.map((c) => ({
      node: c.node,
      vtep: c.vtep,
      mobilitySeq: int64('mobilitySeq', c.mobilitySeq),
      frozen: c.frozen,
    })),
  };
}

export const duplicateResource: Resource<DuplicateView> = {
  kind: 'duplicate',
  name: (d) => `${d.vni}/${d.mac}`,
  columns: [
    { header: 'VNI', cell: (d) => d.vni },
    { header: 'MAC', cell: (d) => d.mac },
    { header: 'VTEP', cell: (d) => d.vtep },
    { header: 'NODE', cell: (d) => d.node },
    {
      header: 'CLAIMS (NODE:SEQ)',
      cell: (d) => d.claims.map((x) => `${x.node}${x.frozen ? '(frozen)' : ''}:${x.mobilitySeq}`).join(','),
    },
  ],
};
