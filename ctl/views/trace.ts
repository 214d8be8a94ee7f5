import type { Endpoint__Output } from '../../generated/vxgossip/v1/Endpoint';
import type { FdbEntry__Output } from '../../generated/vxgossip/v1/FdbEntry';
import type { Column } from './resource';
import { int64, yesNo } from './values';

// `ctl trace`: a MAC's claims, the one the winner rule picks, and the VTEPs each host's kernel
// sends it to ("local": behind one of its own ports).
export interface ClaimView {
  node: string;
  vtep: string;
  mobilitySeq: number;
  frozen: boolean;
  ips: string[];
}

export interface TraceHostView {
  node: string;
  vteps: string[];
  agrees: boolean;
}

export const claimView = (e: Endpoint__Output): ClaimView => ({
  node: e.node,
  vtep: e.vtep,
  mobilitySeq: int64('mobilitySeq', e.mobilitySeq),
  frozen: e.frozen,
  ips: e.ips,
});

export const winnerView = (w: FdbEntry__Output): Omit<ClaimView, 'ips'> => ({
  node: w.node,
  vtep: w.vtep,
  mobilitySeq: int64('mobilitySeq', w.mobilitySeq),
  frozen: w.frozen,
});

export const claimColumns: Array<Column<ClaimView>> = [
  { header: 'NODE', cell: (r) => r.node },
  { header: 'VTEP', cell: (r) => r.vtep },
  { header: 'SEQ', cell: (r) => r.mobilitySeq },
  { header: 'FROZEN', cell: (r) => yesNo(r.frozen) },
  { header: 'IPS', cell: (r) => r.ips.join(',') || '-' },
];

export const traceHostColumns: Array<Column<TraceHostView>> = [
  { header: 'NODE', cell: (h) => h.node },
  { header: 'KERNEL VTEP', cell: (h) => h.vteps.join(',') || '-' },
  { header: 'AGREES', cell: (h) => yesNo(h.agrees) },
];
