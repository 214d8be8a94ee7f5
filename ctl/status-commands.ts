import type { NodeServiceClient } from '../generated/vxgossip/v1/NodeService';
import type { ListNodesResponse__Output } from '../generated/vxgossip/v1/ListNodesResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import { checkUint64, checkVniId } from '../common/validation';
import type { Command, Group } from './command';
import { printAnswer, refuseNames, tableOf } from './print';
import { nodeView } from './views/node';
import { hostHealthColumns, statusView } from './views/status';
import { FdbEventView, fdbEventLine, fdbEventView, nodeEventLine, nodeEventView } from './views/events';
import { followWatch } from './watch-follow';
import { EXIT_DEGRADED } from './errors';

const status: Command = {
  name: 'status',
  summary: 'cluster health: members by gossip state, and per host programmed vs desired entries',
  usage: 'ctl status',
  details: `  Exits 0 when the cluster is healthy, ${EXIT_DEGRADED} when it is degraded: no hosts, or a host the server
  knows that is not alive, not connected (also one not yet reconnected after a server restart) or
  not in sync.`,
  options: {},
  async run(ctx, _values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const c: NodeServiceClient = await ctx.servers.client(v1().NodeService);
    const { nodes } = await unaryCall<ListNodesResponse__Output>((o, cb) => c.listNodes({}, o, cb), ctx.timeoutMs);
    const { healthy, members, hosts } = statusView(nodes.map(nodeView));
    printAnswer(ctx, {
      data: { healthy, members, hosts },
      text: () => {
        const counts = Object.entries(members).map(([state, n]) => `${n} ${state}`);
        const conflicts = hosts.flatMap((h) =>
          h.conflicts.map((c) => `  ${h.node}: ${c.kind} ${c.address} (VNI ${c.vni}) is held by ${c.found}\n`),
        );
        return (
          `cluster: ${healthy ? 'healthy' : 'DEGRADED'}; members: ${counts.join(', ') || 'none'}\n\n` +
          tableOf(ctx, hostHealthColumns, hosts) +
          (conflicts.length > 0
            ? `\nkernel entries not ours, left in place (vxgossip never replaces them):\n${conflicts.join('')}`
            : '')
        );
      },
    });
    return healthy ? 0 : EXIT_DEGRADED;
  },
};

export const statusGroup: Group = {
  name: 'status',
  summary: 'cluster health at a glance',
  commands: [status],
  single: true,
};

const watchFdb: Command = {
  name: 'fdb',
  summary: 'follow the global FDB: a snapshot, then every change (Ctrl-C to stop)',
  usage: 'ctl watch fdb [--vni VNI] [--from-revision N]',
  options: { vni: { type: 'string' }, 'from-revision': { type: 'string' } },
  async run(ctx, values) {
    const client = () => ctx.servers.client(v1().EndpointService);
    const filter = { vni: values.vni === undefined ? 0 : checkVniId(values.vni, 'vni'), node: '', mac: '' };
    // 0 is the snapshot: a mistyped revision must not silently mean it.
    const from = values['from-revision'];
    const fromRevision = from === undefined ? 0 : checkUint64('--from-revision', from);
    refuseNames(ctx);
    const watch = {
      open: async (from: number) => (await client()).watchFdb({ filter, fromRevision: from }),
      view: fdbEventView,
      line: fdbEventLine,
      // Snapshot items carry the snapshot's revision, which covers them only once it has ended.
      revisionAfter: (v: FdbEventView) => (v.type === 'snapshot' ? undefined : v.revision),
    };
    await followWatch(ctx, watch, fromRevision);
  },
};

const watchNodes: Command = {
  name: 'nodes',
  summary: 'follow the nodes: a snapshot, then every change of state or programming (Ctrl-C to stop)',
  usage: 'ctl watch nodes',
  options: {},
  async run(ctx) {
    refuseNames(ctx);
    const watch = {
      open: async () => (await ctx.servers.client(v1().NodeService)).watchNodes({}),
      view: nodeEventView,
      line: nodeEventLine,
    };
    await followWatch(ctx, watch, 0);
  },
};

export const watchGroup: Group = {
  name: 'watch',
  summary: 'follow changes as they happen',
  commands: [watchFdb, watchNodes],
};
