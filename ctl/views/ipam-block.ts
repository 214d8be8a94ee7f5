import type { Block__Output } from '../../generated/vxgossip/v1/Block';
import type { Resource } from './resource';
import { cell, time } from './values';

// An address block of a VNI's subnet and the host that holds it.
export interface BlockView {
  vni: number;
  cidr: string;
  node: string;
  subnet: string;
  claimTime: string | null;
}

export function blockView(b: Block__Output): BlockView {
  return { vni: b.vni, cidr: b.cidr, node: b.node, subnet: b.subnet, claimTime: time('claimTimeMs', b.claimTimeMs) };
}

export const blockResource: Resource<BlockView> = {
  kind: 'block',
  name: (b) => `${b.vni}/${b.cidr}`,
  columns: [
    { header: 'VNI', cell: (b) => b.vni },
    { header: 'BLOCK', cell: (b) => b.cidr },
    { header: 'NODE', cell: (b) => b.node },
    { header: 'SUBNET', cell: (b) => b.subnet },
    { header: 'CLAIMED', cell: (b) => cell(b.claimTime) },
  ],
};
