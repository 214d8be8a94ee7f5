import type * as grpc from '@grpc/grpc-js';
import type { NodeServiceClient } from '../generated/vxgossip/v1/NodeService';
import type { EndpointServiceClient } from '../generated/vxgossip/v1/EndpointService';
import type { ListNodesResponse__Output } from '../generated/vxgossip/v1/ListNodesResponse';
import type { FdbEvent__Output } from '../generated/vxgossip/v1/FdbEvent';
import type { NodeEvent__Output } from '../generated/vxgossip/v1/NodeEvent';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import { checkUint64, checkVniId } from '../common/validation';
import type { Command, Context, Group } from './command';
import { renderData, renderTable } from './output';
import { stateWithAge } from './node-state';
import { stateName } from '../common/node-state';
import { EXIT_DEGRADED } from './errors';

const eventType = (t: string) => t.replace('EVENT_TYPE_', '').toLowerCase();

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
    const c: NodeServiceClient = new (v1().NodeService)(ctx.server, ctx.credentials(), ctx.clientOptions);
    const { nodes } = await unaryCall<ListNodesResponse__Output>((o, cb) => c.listNodes({}, o, cb), ctx.timeoutMs);
    const byState: Record<string, number> = {};
    for (const n of nodes) byState[stateName(n.state)] = (byState[stateName(n.state)] ?? 0) + 1;
    const hosts = nodes.map((n) => {
      const desired = n.programming.reduce((s, p) => s + p.desired, 0);
      const programmed = n.programming.reduce((s, p) => s + p.programmed, 0);
      const failed = n.programming.filter((p) => !p.devicesReady).map((p) => p.vni);
      const conflicts = n.programming.flatMap((p) => p.conflicts.map((c) => ({ vni: p.vni, ...c })));
      return {
        node: n.name,
        state: stateName(n.state),
        stateSince: stateWithAge(n),
        connected: n.connected,
        desired,
        programmed,
        inSync: desired === programmed && failed.length === 0 && conflicts.length === 0,
        failedVnis: failed,
        conflicts,
      };
    });
    // No hosts is no network; a host the server knows but that has not reconnected is not serving.
    const healthy = hosts.length > 0 && hosts.every((h) => h.state === 'alive' && h.connected && h.inSync);
    const exitCode = healthy ? 0 : EXIT_DEGRADED;
    if (ctx.output !== 'table') {
      ctx.out(renderData(ctx.output, { healthy, members: byState, hosts }));
      return exitCode;
    }
    ctx.out(
      `cluster: ${healthy ? 'healthy' : 'DEGRADED'}; members: ${
        Object.entries(byState)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ') || 'none'
      }\n\n`,
    );
    ctx.out(
      renderTable(
        ['NODE', 'STATE', 'SERVER', 'PROGRAMMED/DESIRED', 'SYNC', 'FAILED VNIS'],
        hosts.map((h) => [
          h.node,
          h.stateSince,
          h.connected ? 'connected' : 'disconnected',
          `${h.programmed}/${h.desired}`,
          h.inSync ? 'yes' : 'NO',
          h.failedVnis.join(',') || '-',
        ]),
      ),
    );
    const conflicts = hosts.flatMap((h) =>
      h.conflicts.map((c) => `  ${h.node}: ${c.kind} ${c.address} (VNI ${c.vni}) is held by ${c.found}\n`),
    );
    if (conflicts.length > 0)
      ctx.out(`\nkernel entries not ours, left in place (vxgossip never replaces them):\n${conflicts.join('')}`);
    return exitCode;
  },
};

export const statusGroup: Group = {
  name: 'status',
  summary: 'cluster health at a glance',
  commands: [status],
  single: true,
};

// Prints events until interrupted (or the server ends the stream).
function follow<T>(ctx: Context, call: grpc.ClientReadableStream<T>, line: (e: T) => string): Promise<void> {
  return new Promise((resolve, reject) => {
    call.on('data', (e: T) =>
      ctx.out(
        ctx.output === 'json'
          ? JSON.stringify(e) + '\n'
          : ctx.output === 'yaml'
            ? renderData('yaml', e)
            : line(e) + '\n',
      ),
    );
    call.on('end', resolve);
    call.on('error', reject);
    process.once('SIGINT', () => {
      call.cancel();
      resolve();
    });
  });
}

const watchFdb: Command = {
  name: 'fdb',
  summary: 'follow the global FDB: a snapshot, then every change (Ctrl-C to stop)',
  usage: 'ctl watch fdb [--vni VNI] [--from-revision N]',
  options: { vni: { type: 'string' }, 'from-revision': { type: 'string' } },
  async run(ctx, values) {
    const c: EndpointServiceClient = new (v1().EndpointService)(ctx.server, ctx.credentials(), ctx.clientOptions);
    const filter = { vni: values.vni === undefined ? 0 : checkVniId(values.vni, 'vni'), node: '', mac: '' };
    // 0 is the snapshot: a mistyped revision must not silently mean it.
    const from = values['from-revision'];
    const fromRevision = from === undefined ? 0 : checkUint64('--from-revision', from);
    const call = c.watchFdb({ filter, fromRevision });
    await follow<FdbEvent__Output>(ctx, call, (e) => {
      if (!e.entry) return `-- ${eventType(e.type)} (revision ${e.revision})`;
      const kind = e.entry.kind === 'FDB_ENTRY_KIND_FLOOD' ? 'flood' : 'unicast';
      return `${eventType(e.type).padEnd(8)} vni ${e.entry.vni} ${e.entry.mac} -> ${e.entry.vtep} (${e.entry.node}, ${kind}) rev ${e.revision}`;
    });
  },
};

const watchNodes: Command = {
  name: 'nodes',
  summary: 'follow the nodes: a snapshot, then every change of state or programming (Ctrl-C to stop)',
  usage: 'ctl watch nodes',
  options: {},
  async run(ctx) {
    const c: NodeServiceClient = new (v1().NodeService)(ctx.server, ctx.credentials(), ctx.clientOptions);
    await follow<NodeEvent__Output>(ctx, c.watchNodes({}), (e) => {
      if (!e.node) return `-- ${eventType(e.type)}`;
      const desired = e.node.programming.reduce((s, p) => s + p.desired, 0);
      const programmed = e.node.programming.reduce((s, p) => s + p.programmed, 0);
      return `${eventType(e.type).padEnd(8)} ${e.node.name} ${stateWithAge(e.node)} ${e.node.connected ? 'connected' : 'disconnected'} ${programmed}/${desired}`;
    });
  },
};

export const watchGroup: Group = {
  name: 'watch',
  summary: 'follow changes as they happen',
  commands: [watchFdb, watchNodes],
};
