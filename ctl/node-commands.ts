import type { NodeServiceClient } from '../generated/vxgossip/v1/NodeService';
import type { ListNodesResponse__Output } from '../generated/vxgossip/v1/ListNodesResponse';
import type { RevokeNodeResponse__Output } from '../generated/vxgossip/v1/RevokeNodeResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import type { Command, Group } from './command';
import { printAnswer, printList } from './print';
import { nodeResource, nodeView } from './views/node';
import { int64 } from './views/values';

const list: Command = {
  name: 'list',
  summary: 'every node the server knows: gossip state, VTEP, VNIs, programmed vs desired entries',
  usage: 'ctl node list',
  options: {},
  async run(ctx, _values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const c: NodeServiceClient = await ctx.servers.client(v1().NodeService);
    const res = await unaryCall<ListNodesResponse__Output>((o, cb) => c.listNodes({}, o, cb), ctx.timeoutMs);
    printList(ctx, nodeResource, res.nodes.map(nodeView));
  },
};

const revoke: Command = {
  name: 'revoke',
  summary: "refuse a node's certificates: the server drops it, every peer drops its records",
  usage: 'ctl node revoke NAME',
  completes: 'nodes',
  details:
    'The node can enrol again only with a token made for it (ctl token create --node NAME). It still holds the\n' +
    'gossip key: rotate it (ctl keys install/use/remove) to keep it out of gossip altogether.',
  options: {},
  async run(ctx, _values, positionals) {
    if (positionals.length !== 1) throw new UsageError('give the name of the node to revoke');
    const c: NodeServiceClient = await ctx.servers.client(v1().NodeService);
    const res = await unaryCall<RevokeNodeResponse__Output>(
      (o, cb) => c.revokeNode({ name: positionals[0] }, o, cb),
      ctx.timeoutMs,
    );
    const revoked = {
      name: positionals[0],
      configRevision: int64('configRevision', res.configRevision),
      recordsDeleted: res.recordsDeleted,
    };
    printAnswer(ctx, {
      data: revoked,
      names: [`node/${revoked.name}`],
      text: () =>
        `node ${revoked.name} revoked at configuration revision ${revoked.configRevision}; ${revoked.recordsDeleted} records deleted\n`,
    });
  },
};

export const nodeGroup: Group = { name: 'node', summary: 'cluster nodes', commands: [list, revoke] };
