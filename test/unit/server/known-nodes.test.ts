import { strict as assert } from 'node:assert';
import { knownNodes } from '../../../server/known-nodes';
import type { AgentHub } from '../../../server/agent-hub';
import type { NodeRegistry } from '../../../server/trust/node-registry';
import type { ReplicaStore } from '../../../server/replica-store';
import type { Node } from '../../../generated/vxgossip/v1/Node';

describe('the nodes a server knows', () => {
  const connected: Node = { name: 'h2', vtep: '198.18.0.2', state: 'NODE_STATE_ALIVE', connected: true };
  const hub = { nodes: () => [connected] } as unknown as AgentHub;
  const enrolled: Record<string, { vteps: string[] }> = {
    h1: { vteps: ['198.18.0.1'] },
    h2: { vteps: ['198.18.0.2'] },
  };
  const registry = {
    names: () => Object.keys(enrolled),
    get: (name: string) => enrolled[name],
  } as unknown as NodeRegistry;
  const replicas = { ownerNames: () => ['h2', 'h3'] } as unknown as ReplicaStore;

  it('lists enrolled nodes and record owners that have not (re)connected as disconnected, in no known state', () => {
    assert.deepEqual(knownNodes(hub, registry, replicas), [
      { name: 'h1', vtep: '198.18.0.1', state: 'NODE_STATE_UNSPECIFIED', connected: false, programming: [], vnis: [] },
      connected,
      { name: 'h3', vtep: '', state: 'NODE_STATE_UNSPECIFIED', connected: false, programming: [], vnis: [] },
    ]);
  });
});
