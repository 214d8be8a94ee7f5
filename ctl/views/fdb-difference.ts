import type { Difference, Problem } from '../fdb-diff';
import type { Column } from './resource';
import { cell, orNull } from './values';

// One difference between the server's view and a host's kernel. key: the MAC or address the entry
// is for (null for kind vni: a VNI the host has not realised). server and kernel: what each says
// there, null for nothing.
export interface DifferenceView {
  node: string;
  vni: number;
  kind: string;
  key: string | null;
  problem: Problem;
  server: string | null;
  kernel: string | null;
}

export function differenceView(d: Difference): DifferenceView {
  return {
    node: d.node,
    vni: d.vni,
    kind: d.kind,
    key: d.kind === 'vni' ? null : d.key,
    problem: d.problem,
    server: orNull(d.server),
    kernel: orNull(d.kernel),
  };
}

export const differenceColumns: Array<Column<DifferenceView>> = [
  { header: 'NODE', cell: (d) => d.node },
  { header: 'VNI', cell: (d) => d.vni },
  { header: 'KIND', cell: (d) => d.kind },
  { header: 'KEY', cell: (d) => cell(d.key) },
  { header: 'PROBLEM', cell: (d) => d.problem },
  { header: 'SERVER', cell: (d) => cell(d.server) },
  { header: 'KERNEL', cell: (d) => cell(d.kernel) },
];
