import * as grpc from '@grpc/grpc-js';
import type { Endpoint__Output } from '../generated/vxgossip/v1/Endpoint';
import type { FdbEntry__Output } from '../generated/vxgossip/v1/FdbEntry';
import type { ListEndpointsResponse__Output } from '../generated/vxgossip/v1/ListEndpointsResponse';
import { unaryCall } from '../common/grpc-client';
import { UsageError } from '../common/cli';
import { checkNodeName, checkUnicastMac, checkVniId } from '../common/validation';
import type { Command, Context, FlagValues, Group } from './command';
import { allPages, client, noPositionals, required } from './endpoint-commands';
import { diffHost } from './fdb-diff';
import { HostAnswer, askHosts, configuredVnis, hostFdb, knownNodes, servedEntries } from './host-truth';
import { isData, printAnswer, refuseNames, tableOf } from './print';
import { renderData } from './output';
import { hostFdbView, kernelEntryColumns } from './views/host-fdb';
import { differenceColumns, differenceView } from './views/fdb-difference';
import { claimColumns, claimView, traceHostColumns, winnerView } from './views/trace';

const vniFlag = (values: FlagValues) => (values.vni === undefined ? 0 : checkVniId(values.vni, 'vni'));
const unansweredLines = (unanswered: Record<string, string>) =>
  Object.entries(unanswered)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, why]) => `  ${node}: ${why}\n`)
    .join('');

// `ctl fdb show --on NODE`: what that host's kernel holds, read by its agent.
export async function showOnHost(ctx: Context, values: FlagValues): Promise<void> {
  const serverOnly = ['node', 'mac', 'no-flood'].find((f) => values[f] !== undefined);
  if (serverOnly) throw new UsageError(`--${serverOnly} filters the server's view; with --on give only --vni`);
  const node = checkNodeName('on', values.on as string);
  refuseNames(ctx);
  const answer = hostFdbView(await hostFdb(ctx, await client(ctx), node, vniFlag(values)));
  printAnswer(ctx, { data: answer, text: () => tableOf(ctx, kernelEntryColumns, answer.entries) });
}

export const fdbDiff: Command = {
  name: 'diff',
  summary: "the server's view against every host's kernel: what is missing, extra or different",
  usage: 'ctl fdb diff [--vni VNI]',
  details: `  Compares, on every host the server knows, the kernel's remote entries (vxlan FDB, bridge,
  neighbours, L3 routes) with what the server's view says that host must program. Exits 1 if
  anything differs or any host did not answer (named), 0 if every host agrees. Hosts that left the
  cluster (a graceful stop) are not compared.`,
  options: { vni: { type: 'string' } },
  async run(ctx, values, positionals) {
    noPositionals(positionals);
    refuseNames(ctx);
    const vni = vniFlag(values);
    const c = await client(ctx);
    const [configured, served, nodes] = await Promise.all([
      configuredVnis(ctx, vni),
      servedEntries(ctx, c, vni),
      knownNodes(ctx),
    ]);
    if (vni !== 0 && !configured.has(vni))
      throw new Error(`VNI ${vni} is not configured (ctl vni list shows those that are)`);
    const { answers, unanswered } = await askHosts(ctx, c, nodes, vni);
    const differences = answers.flatMap((a: HostAnswer) =>
      diffHost({ host: a.node, configured, realised: a.vnis, held: a.entries }, served),
    );
    const hosts = answers.map((a) => a.node);
    const silent = Object.keys(unanswered).length;
    if (isData(ctx))
      ctx.out(renderData(ctx.output, { hosts, differences: differences.map(differenceView), unanswered }));
    else {
      if (differences.length > 0) ctx.out(tableOf(ctx, differenceColumns, differences.map(differenceView)));
      else if (hosts.length > 0) ctx.out(`no differences on ${hosts.length} host(s): ${hosts.join(', ')}\n`);
      if (silent > 0) ctx.out(`did not answer:\n${unansweredLines(unanswered)}`);
    }
    if (differences.length > 0 || silent > 0 || hosts.length === 0) {
      const differing = new Set(differences.map((d) => d.node)).size;
      throw new Error(
        hosts.length === 0 && silent === 0
          ? 'no host to compare: no agent has connected to the server'
          : `${differences.length} difference(s) on ${differing} host(s), ${silent} host(s) did not answer`,
      );
    }
  },
};

// The VTEPs a host's kernel sends a MAC to: its vxlan entries for the MAC, or on L3 its routes for
// the addresses of the MAC's claims; 'local' when the MAC is behind one of its own ports.
function vtepsOn(answer: HostAnswer, mac: string, ips: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const e of answer.entries) {
    if (e.kind === 'vxlan' && e.mac === mac) out.add(e.vtep);
    else if (e.kind === 'route' && ips.has(e.ip)) out.add(e.vtep);
    else if (e.kind === 'local' && e.mac === mac) out.add('local');
  }
  return [...out].sort();
}

async function winnerOf(ctx: Context, vni: number, mac: string): Promise<FdbEntry__Output | null> {
  const c = await client(ctx);
  try {
    return await unaryCall<FdbEntry__Output>((o, cb) => c.lookupFdb({ vni, mac }, o, cb), ctx.timeoutMs);
  } catch (err) {
    if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return null;
    throw err;
  }
}

const traceCommand: Command = {
  name: 'trace',
  summary: 'who claims a MAC, which claim wins (frozen or not), and which VTEP each host sends it to',
  usage: 'ctl trace --vni VNI --mac MAC',
  details: `  CLAIMS   every live claim the server holds: the host, its VTEP, mobility sequence, frozen
  WINNER   the claim the winner rule picks (highest sequence, then lower host name)
  HOSTS    per host, the VTEP its kernel uses for the MAC ("local": behind one of its own ports)`,
  options: { vni: { type: 'string' }, mac: { type: 'string' } },
  async run(ctx, values, positionals) {
    noPositionals(positionals);
    refuseNames(ctx);
    const vni = checkVniId(required(values, 'vni'), 'vni');
    const mac = checkUnicastMac('mac', required(values, 'mac'));
    const c = await client(ctx);
    const filter = { vni, mac, node: '' };
    const [claims, winner, nodes] = await Promise.all([
      allPages<Endpoint__Output>(async (pageToken) => {
        const res = await unaryCall<ListEndpointsResponse__Output>(
          (o, cb) => c.listEndpoints({ filter, pageToken }, o, cb),
          ctx.timeoutMs,
        );
        return { items: res.endpoints, next: res.nextPageToken };
      }),
      winnerOf(ctx, vni, mac),
      knownNodes(ctx),
    ]);
    const { answers, unanswered } = await askHosts(ctx, c, nodes, vni);
    const ips = new Set(claims.flatMap((e) => e.ips.map((ip) => ip.split('/')[0])));
    const hosts = answers.map((a) => {
      const vteps = vtepsOn(a, mac, ips);
      // The winner's host holds the MAC behind its own port (or has not seen it send yet): no remote entry.
      const agrees =
        winner !== null &&
        (a.node === winner.node ? vteps.every((v) => v === 'local') : vteps.length === 1 && vteps[0] === winner.vtep);
      return { node: a.node, vteps, agrees };
    });
    const claimRows = claims.map(claimView);
    const winnerOut = winner && winnerView(winner);
    if (isData(ctx))
      return ctx.out(renderData(ctx.output, { vni, mac, winner: winnerOut, claims: claimRows, hosts, unanswered }));
    ctx.out(
      `VNI ${vni} MAC ${mac}: ${winnerOut ? `winner ${winnerOut.node} (VTEP ${winnerOut.vtep}, sequence ${winnerOut.mobilitySeq}${winnerOut.frozen ? ', frozen' : ''})` : 'no host announces it'}\n\nClaims:\n`,
    );
    ctx.out(tableOf(ctx, claimColumns, claimRows));
    ctx.out('\nHosts:\n');
    ctx.out(tableOf(ctx, traceHostColumns, hosts));
    if (Object.keys(unanswered).length > 0) ctx.out(`\ndid not answer:\n${unansweredLines(unanswered)}`);
  },
};

export const traceGroup: Group = {
  name: 'trace',
  summary: 'follow one MAC: its claims, the winner, and the VTEP each host uses',
  commands: [traceCommand],
  single: true,
};
