import type { KeyringResponse__Output } from '../../generated/vxgossip/v1/KeyringResponse';
import type { Resource } from './resource';

// The gossip keys the agents hold: how many of the agents that answered hold each, and use it as
// their primary; errors by node for those that did not answer or failed.
export interface KeyringView {
  nodes: number;
  keys: Record<string, number>;
  primaryKeys: Record<string, number>;
  errors: Record<string, string>;
  unsavedNodes: string[];
}

export function keyringView(res: KeyringResponse__Output): KeyringView {
  return {
    nodes: res.nodes,
    keys: res.keys,
    primaryKeys: res.primaryKeys,
    errors: res.errors,
    unsavedNodes: res.unsavedNodes ?? [],
  };
}

// One key of a keyring, as its table row and -o name (key/<base64>) show it.
export interface KeyRow {
  key: string;
  holders: number;
  primaryOn: number;
  nodes: number;
}

export const keyRows = (k: KeyringView): KeyRow[] =>
  Object.entries(k.keys).map(([key, holders]) => ({
    key,
    holders,
    primaryOn: k.primaryKeys[key] ?? 0,
    nodes: k.nodes,
  }));

export const keyResource: Resource<KeyRow> = {
  kind: 'key',
  name: (k) => k.key,
  columns: [
    { header: 'KEY', cell: (k) => k.key },
    { header: 'NODES', cell: (k) => `${k.holders}/${k.nodes}` },
    { header: 'PRIMARY ON', cell: (k) => k.primaryOn },
  ],
};
