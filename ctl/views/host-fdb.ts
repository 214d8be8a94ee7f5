import type { HostAnswer } from '../host-truth';
import type { Column } from './resource';
import { cell, orNull } from './values';

// What one host's kernel holds, as its agent read it. kind: vxlan (MAC -> VTEP), bridge, neighbour
// (IP -> MAC), route (IP -> VTEP) or local (a MAC behind one of its own ports); the fields a kind
// has no use for are null.
export interface KernelEntryView {
  vni: number;
  kind: string;
  mac: string | null;
  ip: string | null;
  vtep: string | null;
}

export interface HostFdbView {
  node: string;
  // The VNIs realised on the host (within --vni).
  vnis: number[];
  entries: KernelEntryView[];
}

export function hostFdbView(a: HostAnswer): HostFdbView {
  return {
    node: a.node,
    vnis: a.vnis,
    entries: a.entries.map((e) => ({
      vni: e.vni,
      kind: e.kind,
      mac: orNull(e.mac),
      ip: orNull(e.ip),
      vtep: orNull(e.vtep),
    })),
  };
}

export const kernelEntryColumns: Array<Column<KernelEntryView>> = [
  { header: 'VNI', cell: (e) => e.vni },
  { header: 'KIND', cell: (e) => e.kind },
  { header: 'MAC', cell: (e) => cell(e.mac) },
  { header: 'IP', cell: (e) => cell(e.ip) },
  { header: 'VTEP', cell: (e) => cell(e.vtep) },
];
