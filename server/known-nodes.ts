import type { Node } from '../generated/vxgossip/v1/Node';
import type { AgentHub } from './agent-hub';
import type { NodeRegistry } from './trust/node-registry';
import type { RecordStore } from './record-store';

// Every node this server knows, not only those whose agents connected since it started: an enrolled
// node, or one whose records it holds, that has not (re)connected is listed as disconnected, in no
// known state, so that `ctl status` cannot read a cluster missing it as healthy.
export function knownNodes(hub: AgentHub, registry: NodeRegistry, replicas: RecordStore): Node[] {
  const nodes = hub.nodes();
  const seen = new Set(nodes.map((n) => n.name));
  const missing = new Set([...registry.names(), ...replicas.ownerNames()].filter((name) => !seen.has(name)));
  const absent = [...missing].map((name): Node => ({
    name,
    vtep: registry.get(name)?.vteps[0] ?? '',
    state: 'NODE_STATE_UNSPECIFIED',
    connected: false,
    programming: [],
    vnis: [],
  }));
  return [...nodes, ...absent].sort((a, b) => a.name!.localeCompare(b.name!));
}
