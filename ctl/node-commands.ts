import type { NodeServiceClient } from '../generated/vxgossip/v1/NodeService';
import type { ListNodesResponse__Output } from '../generated/vxgossip/v1/ListNodesResponse';
import type { RevokeNodeResponse__Output } from '../generated/vxgossip/v1/RevokeNodeResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import type { Command, Group } from './command';
import { renderData, renderTable } from './output';
import { stateWithAge } from './node-state';

const list: Command = {
  name: 'list',
  summary: 'every node the server knows: gossip state, VTEP, VNIs, programmed vs desired entries',
  usage: 'ctl node list',
  options: {},
  async run(ctx, _values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const c: NodeServiceClient = new (v1().NodeService)(ctx.server, ctx.credentials(), ctx.clientOptions);
    const res = await unaryCall<ListNodesResponse__Output>((o, cb) => c.listNodes({}, o, cb), ctx.timeoutMs);
    if (ctx.output !== 'table') return ctx.out(renderData(ctx.output, res.nodes));
    ctx.out(
      renderTable(
        ['NAME', 'STATE', 'VTEP', 'CONNECTED', 'VNIS', 'PROGRAMMED/DESIRED'],
        res.nodes.map((n) => {
          const desired = n.programming.reduce((s, p) => s + p.desired, 0);
          const programmed = n.programming.reduce((s, p) => s + p.programmed, 0);
          return [
            n.name,
            stateWithAge(n),
            n.vtep,
            n.connected ? 'yes' : 'no',
            n.vnis.join(',') || '-',
            `${programmed}/${desired}`,
          ];
        }),
      ),
    );
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
    const c: NodeServiceClient = new (v1().NodeService)(ctx.server, ctx.credentials(), ctx.clientOptions);
    const res = await unaryCall<RevokeNodeResponse__Output>(
      (o, cb) => c.revokeNode({ name: positionals[0] }, o, cb),
      ctx.timeoutMs,
    );
    if (ctx.output !== 'table') return ctx.out(renderData(ctx.output, res));
    ctx.out(
      `node ${positionals[0]} revoked at configuration revision ${res.configRevision}; ${res.recordsDeleted} records deleted\n`,
    );
  },
};

export const nodeGroup: Group = { name: 'node', summary: 'cluster nodes', commands: [list, revoke] };
