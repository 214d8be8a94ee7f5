import { AGENT_METRICS_PORT, AttackCluster, SERVER_METRICS_PORT } from './attack-cluster';

// The counters each refusal must show up in: the contract between the attack suite and the defence.
export const AGENT_DROPPED = 'vxgossip_gossip_dropped_total';
export const SERVER_REFUSED = 'vxgossip_auth_refused_total';

export type AgentDropReason =
  'unsigned-config' | 'untrusted-certificate' | 'bad-signature' | 'not-a-member' | 'revoked' | 'vtep-not-certified';
export type ServerRefusalReason =
  'no-certificate' | 'wrong-role' | 'name-mismatch' | 'untrusted-certificate' | 'revoked';

// The value of one series in Prometheus text: the metric with (at least) the given labels; summed
// when several series match. Undefined when the metric is not exposed at all.
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let found: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) found = (found ?? 0) + Number(m[3]);
  }
  return found;
}

// Every daemon's refusal counters at one moment: "h1" -> agent text, "server" -> server text.
export type RefusalScrape = Map<string, string>;

export function scrapeRefusals(c: AttackCluster): RefusalScrape {
  const out: RefusalScrape = new Map([['server', c.scrape(c.ctrl, SERVER_METRICS_PORT)]]);
  for (const h of c.hosts) out.set(h.name, c.scrape(h, AGENT_METRICS_PORT));
  return out;
}

// Throws unless the counter of `reason` went up between the scrapes on every daemon named.
export function assertCounted(
  before: RefusalScrape,
  after: RefusalScrape,
  daemons: string[],
  reason: AgentDropReason | ServerRefusalReason,
): void {
  const problems: string[] = [];
  for (const d of daemons) {
    const name = d === 'server' ? SERVER_REFUSED : AGENT_DROPPED;
    const was = metricValue(before.get(d) ?? '', name, { reason });
    const now = metricValue(after.get(d) ?? '', name, { reason });
    const series = `${d} ${name}{reason="${reason}"}`;
    if (now === undefined) problems.push(`${series} is not exposed`);
    else if (now <= (was ?? 0)) problems.push(`${series} stayed at ${now}`);
  }
  if (problems.length > 0) throw new Error(`refusal not counted: ${problems.join('; ')}`);
}
