import * as grpc from '@grpc/grpc-js';
import type { NodeServiceHandlers } from '../generated/vxgossip/v1/NodeService';
import type { Logger } from '../common/log';
import { RpcError } from './grpc-errors';
import type { AgentHub } from './agent-hub';
import { unary } from './rpc';
import { checkNodeName, shown } from '../common/validation';
import type { VniConfigStore } from './vni-config-store';
import type { RecordStore } from './record-store';
import type { NodeRegistry } from './trust/node-registry';
import { knownNodes } from './known-nodes';

// Nodes as their agents report them on the agent stream, with the gossip state the connected agents
// see (alive, suspect, dead, left).
export interface Revoker {
  store: VniConfigStore;
  replicas: RecordStore;
  registry: NodeRegistry;
}

export function nodeService(hub: AgentHub, log: Logger, revoker: Revoker): NodeServiceHandlers {
  return {
    // The revocation is durable and signed into the configuration first; then the node's stream is
    // closed and its records deleted, so nothing it said outlives the revocation here.
    RevokeNode: unary(log, 'RevokeNode', [], async (req) => {
      const name = checkNodeName('name', req.name);
      if (!revoker.registry.get(name) && !hub.sessionOf(name) && revoker.replicas.recordsOf(name).length === 0)
        throw new RpcError(grpc.status.NOT_FOUND, `node "${name}" is neither enrolled nor known to this server`);
      const { revision } = await revoker.store.revoke(name);
      hub.disconnect(name, `node ${name} has been revoked`);
      const recordsDeleted = await revoker.replicas.forget(name);
      await revoker.registry.remove(name);
      log.warn('node revoked', { node: name, configRevision: revision, recordsDeleted });
      return { configRevision: revision, recordsDeleted };
    }),
    ListNodes: unary(log, 'ListNodes', [], (req) => {
      const nodes = knownNodes(hub, revoker.registry, revoker.replicas).filter(
        (n) => req.vni === 0 || (n.vnis ?? []).includes(req.vni),
      );
      return { nodes };
    }),
    GetNode: unary(log, 'GetNode', [], (req) => {
      const node = hub.nodes().find((n) => n.name === req.name);
      if (!node)
        throw new RpcError(grpc.status.NOT_FOUND, `node ${shown(req.name)} has never connected to this server`);
      return node;
    }),
    // A snapshot of every node, then the node again whenever its connection, gossip state or
    // programming status changes.
    WatchNodes(call) {
      for (const node of hub.nodes()) call.write({ type: 'EVENT_TYPE_SNAPSHOT', node });
      call.write({ type: 'EVENT_TYPE_SNAPSHOT_END' });
      const onNode = (name: string) => {
        const node = hub.nodes().find((n) => n.name === name);
        if (node) call.write({ type: 'EVENT_TYPE_UPDATED', node });
      };
      hub.on('node', onNode);
      const stop = () => hub.off('node', onNode);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
}
