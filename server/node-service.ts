import * as grpc from '@grpc/grpc-js';
import type { NodeServiceHandlers } from '../generated/vxgossip/v1/NodeService';
import type { Logger } from '../common/log';
import { RpcError } from '../common/grpc-errors';
import type { AgentHub } from './agent-hub';
import { unary } from './rpc';

// Nodes as their agents report them on the agent stream. The gossip membership view (suspect, dead,
// left) and WatchNodes come with replication.
export function nodeService(hub: AgentHub, log: Logger): NodeServiceHandlers {
  return {
    ListNodes: unary(log, 'ListNodes', [], (req) => {
      const nodes = hub.nodes().filter((n) => req.vni === 0 || (n.vnis ?? []).includes(req.vni));
      return { nodes };
    }),
    GetNode: unary(log, 'GetNode', [], (req) => {
      const node = hub.nodes().find((n) => n.name === req.name);
      if (!node) throw new RpcError(grpc.status.NOT_FOUND, `node "${req.name}" has never connected to this server`);
      return node;
    }),
    WatchNodes(call) {
      call.destroy({ code: grpc.status.UNIMPLEMENTED, details: 'WatchNodes is not implemented by this server version' } as grpc.ServiceError);
    },
  };
}
