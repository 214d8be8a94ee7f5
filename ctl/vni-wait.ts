import type { NodeServiceClient } from '../generated/vxgossip/v1/NodeService';
import { v1 } from '../common/proto';
import { parseDuration } from '../common/validation';
import type { Context, FlagValues, Options } from './command';
import { DegradedError } from './errors';
import type { OptionalValue } from './optional-flag-values';
import { HostVerdict, WaitGoal, awaitRealisation } from './vni-realisation';

// --wait, --wait=DURATION on vni create, update and delete. `--wait 5s` is refused, not guessed at:
// a bare --wait followed by a word is the flag and then an argument.
export const waitOption: Options = { wait: { type: 'string' } };
export const waitOptionalValue: Record<string, OptionalValue> = {
  wait: { default: '60s', looksLikeValue: /^\d+(ms|s|m|h)$/, example: '--wait=5s', bare: 'waits up to 60s' },
};
export const WAIT_HELP = `  --wait[=DURATION]  return once every live host has realised the change (default 60s; e.g.
                     --wait=5s, 2m); exit 3 at the deadline, naming the hosts that did not and
                     what each reports. Hosts whose agent is down are named, not waited for`;

const WAIT_MAX_MS = 3_600_000;

const named = (hosts: HostVerdict[]) => hosts.map((h) => `${h.node} (${h.reports})`).join(', ');

export interface Wait {
  text: string;
  timeoutMs: number;
}

// Read before the change is made, so a bad duration changes nothing.
export function waitFrom(values: FlagValues): Wait | undefined {
  if (values.wait === undefined) return undefined;
  const text = values.wait as string;
  return { text, timeoutMs: parseDuration('--wait', text, 1, WAIT_MAX_MS) };
}

// After the change is made: nothing without --wait; otherwise the wait's outcome, on stdout for a
// table and on stderr for json or yaml (whose stdout is the data), or a DegradedError at the deadline.
export async function waitIfAsked(ctx: Context, wait: Wait | undefined, goal: WaitGoal): Promise<void> {
  if (!wait) return;
  const { text, timeoutMs } = wait;
  const c: NodeServiceClient = await ctx.servers.client(v1().NodeService);
  const outcome = await awaitRealisation(goal, c.watchNodes({}), timeoutMs);
  const notLive = outcome.hosts.filter((h) => !h.live);
  if (!outcome.realised)
    throw new DegradedError(
      `not realised on every live host within ${text}: ${named(outcome.hosts.filter((h) => h.live && !h.done))}` +
        (notLive.length ? `; not waited for (not live): ${named(notLive)}` : ''),
    );
  const live = outcome.hosts.filter((h) => h.live).map((h) => h.node);
  const done = `${goal.deleted ? 'removed from' : 'realised on'} every live host: ${live.join(', ') || 'none'}\n`;
  const skipped = notLive.length ? `not waited for (not live): ${named(notLive)}\n` : '';
  if (ctx.output === 'table') ctx.out(done + skipped);
  else process.stderr.write(done + skipped);
}
