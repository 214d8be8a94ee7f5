import type { ListVnisResponse__Output } from '../generated/vxgossip/v1/ListVnisResponse';
import type { ListNodesResponse__Output } from '../generated/vxgossip/v1/ListNodesResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import type { Context, FlagValues, Group, Options } from './command';
import { Lookup, completionCandidates } from './completion-candidates';

// A TAB must not hang on a slow or absent server: what it does not list by then is not offered.
const LOOKUP_TIMEOUT_MS = 2000;
// Pages of VNIs read for one TAB (a page is up to 1000): more is not a list anyone reads on a terminal.
const MAX_VNI_PAGES = 5;

export type Connect = (globals: FlagValues) => Omit<Context, 'out' | 'command'>;

async function lookup(what: Lookup, ctx: Omit<Context, 'out' | 'command'>): Promise<string[]> {
  const timeout = Math.min(ctx.timeoutMs, LOOKUP_TIMEOUT_MS);
  if (what === 'nodes') {
    const c = await ctx.servers.client(v1().NodeService, timeout);
    const res = await unaryCall<ListNodesResponse__Output>((o, cb) => c.listNodes({}, o, cb), timeout);
    return res.nodes.map((n) => n.name);
  }
  const c = await ctx.servers.client(v1().VniService, timeout);
  const ids: string[] = [];
  let pageToken = '';
  for (let page = 0; page < MAX_VNI_PAGES && (page === 0 || pageToken !== ''); page++) {
    const res = await unaryCall<ListVnisResponse__Output>((o, cb) => c.listVnis({ pageToken }, o, cb), timeout);
    ids.push(...res.vnis.map((v) => String(v.id)));
    pageToken = res.nextPageToken;
  }
  return ids;
}

// `ctl __complete LINE`, which the completion scripts run at every TAB: the line up to the cursor in,
// one candidate per line out. ctl splits the line itself, as bash would split HOST:PORT at the colon.
// Silent on every failure: a completion that cannot ask the server offers nothing.
export async function completeLine(line: string, groups: Group[], globalOptions: Options, connect: Connect) {
  const typed = line.trimStart().split(/\s+/).slice(1);
  if (typed.length === 0) typed.push('');
  const candidates = completionCandidates(typed, groups, globalOptions);
  let words: string[] = [];
  if ('words' in candidates) words = candidates.words;
  else {
    try {
      const found = await lookup(candidates.lookup, connect(candidates.globals));
      words = found.filter((w) => w.startsWith(candidates.prefix));
    } catch {
      words = [];
    }
  }
  return words.map((w) => `${w}\n`).join('');
}
