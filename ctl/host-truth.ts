import type { EndpointServiceClient } from '../generated/vxgossip/v1/EndpointService';
import type { HostFdb__Output } from '../generated/vxgossip/v1/HostFdb';
import type { KernelEntry__Output } from '../generated/vxgossip/v1/KernelEntry';
import type { ListFdbResponse__Output } from '../generated/vxgossip/v1/ListFdbResponse';
import type { ListEndpointsResponse__Output } from '../generated/vxgossip/v1/ListEndpointsResponse';
import type { ListNodesResponse__Output } from '../generated/vxgossip/v1/ListNodesResponse';
import type { ListVnisResponse__Output } from '../generated/vxgossip/v1/ListVnisResponse';
import type { Node__Output } from '../generated/vxgossip/v1/Node';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { vniFromProto } from '../common/vni-proto';
import type { Context } from './command';
import { allPages } from './endpoint-commands';
import type { ServedEntry, VniKind } from './fdb-diff';

// Reading the truth: what one host's kernel holds (through its agent), and the server's view the
// hosts are compared with.

// Hosts asked at once: each answer is a kernel dump on that host, so a big cluster is asked in waves.
const HOSTS_AT_ONCE = 16;

export interface HostAnswer {
  node: string;
  entries: KernelEntry__Output[];
  vnis: number[];
}

// Every page of one host's kernel entries (vni 0: every VNI realised there).
export async function hostFdb(ctx: Context, c: EndpointServiceClient, node: string, vni: number): Promise<HostAnswer> {
  const vnis = new Set<number>();
  const entries = await allPages<KernelEntry__Output>(async (pageToken) => {
    const res = await unaryCall<HostFdb__Output>(
      (o, cb) => c.getHostFdb({ node, vni, pageToken }, o, cb),
      ctx.timeoutMs,
    );
    for (const v of res.vnis) vnis.add(v);
    return { items: res.entries, next: res.nextPageToken };
  });
  return { node, entries, vnis: [...vnis] };
}

// Every node the server knows except those that left on purpose: a host that is down or
// disconnected is one whose kernel nobody can vouch for.
export async function knownNodes(ctx: Context): Promise<Node__Output[]> {
  const c = await ctx.servers.client(v1().NodeService);
  const res = await unaryCall<ListNodesResponse__Output>((o, cb) => c.listNodes({}, o, cb), ctx.timeoutMs);
  return res.nodes.filter((n) => n.state !== 'NODE_STATE_LEFT');
}

// Each node's kernel, or why it has none; asked HOSTS_AT_ONCE at a time.
export async function askHosts(
  ctx: Context,
  c: EndpointServiceClient,
  nodes: Node__Output[],
  vni: number,
): Promise<{ answers: HostAnswer[]; unanswered: Record<string, string> }> {
  const answers: HostAnswer[] = [];
  const unanswered: Record<string, string> = {};
  for (const n of nodes.filter((x) => !x.connected)) unanswered[n.name] = 'its agent is not connected to the server';
  const asked = nodes.filter((x) => x.connected);
  for (let i = 0; i < asked.length; i += HOSTS_AT_ONCE) {
    await Promise.all(
      asked.slice(i, i + HOSTS_AT_ONCE).map(async (n) => {
        try {
          answers.push(await hostFdb(ctx, c, n.name, vni));
        } catch (err) {
          unanswered[n.name] = (err as { details?: string }).details ?? (err as Error).message;
        }
      }),
    );
  }
  answers.sort((a, b) => a.node.localeCompare(b.node));
  return { answers, unanswered };
}

// The configured VNIs (one, or all with vni 0) and how each forwards.
export async function configuredVnis(ctx: Context, vni: number): Promise<Map<number, VniKind>> {
  const c = await ctx.servers.client(v1().VniService);
  const vnis = await allPages(async (pageToken) => {
    const res = await unaryCall<ListVnisResponse__Output>((o, cb) => c.listVnis({ pageToken }, o, cb), ctx.timeoutMs);
    return { items: res.vnis.map(vniFromProto), next: res.nextPageToken };
  });
  const kindOf = (v: (typeof vnis)[number]): VniKind => {
    if (v.mode === 'l3') return v.datapath === 'bpf' ? 'l3-bpf' : 'l3-routes';
    return v.multicastGroup ? 'l2-multicast' : 'l2-head-end';
  };
  return new Map(vnis.filter((v) => vni === 0 || v.id === vni).map((v) => [v.id, kindOf(v)]));
}

// The server's FDB view with the addresses of each winning claim.
export async function servedEntries(ctx: Context, c: EndpointServiceClient, vni: number): Promise<ServedEntry[]> {
  const filter = { vni, node: '', mac: '' };
  const [fdb, endpoints] = await Promise.all([
    allPages(async (pageToken) => {
      const res = await unaryCall<ListFdbResponse__Output>(
        (o, cb) => c.listFdb({ filter, pageToken, includeFlood: true }, o, cb),
        ctx.timeoutMs,
      );
      return { items: res.entries, next: res.nextPageToken };
    }),
    allPages(async (pageToken) => {
      const res = await unaryCall<ListEndpointsResponse__Output>(
        (o, cb) => c.listEndpoints({ filter, pageToken }, o, cb),
        ctx.timeoutMs,
      );
      return { items: res.endpoints, next: res.nextPageToken };
    }),
  ]);
  const ips = new Map(endpoints.map((e) => [`${e.vni}|${e.mac}|${e.node}`, e.ips]));
  return fdb.map((e) => ({
    vni: e.vni,
    mac: e.mac,
    vtep: e.vtep,
    node: e.node,
    flood: e.kind === 'FDB_ENTRY_KIND_FLOOD',
    ips: ips.get(`${e.vni}|${e.mac}|${e.node}`) ?? [],
  }));
}
