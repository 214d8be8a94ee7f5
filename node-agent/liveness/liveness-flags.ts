import { parseDuration } from '../../common/validation';
import type { VtepSweepOptions } from './vtep-sweep';

// How peers are judged: gossip's probing of agents, the sweep of VTEPs, how long an agent-down host is kept.
export function livenessOptions(values: { [flag: string]: string | boolean | undefined }): {
  agentDownKeepMs: number | undefined;
  probing: { probeIntervalMs: number; probeTimeoutMs: number };
  sweep: VtepSweepOptions | undefined;
} {
  const flag = (name: string) => values[name] as string | undefined;
  const keep = flag('agent-down-keep');
  return {
    agentDownKeepMs: keep ? parseDuration('--agent-down-keep', keep, 0, 30 * 24 * 3_600_000) : undefined,
    probing: gossipProbing(flag('gossip-probe-interval'), flag('gossip-probe-timeout')),
    sweep: vtepSweep(flag('vtep-sweep-interval'), flag('vtep-sweep-timeout')),
  };
}

// memberlist requires the direct probe's timeout to end before the interval does (the rest of the
// interval is for indirect probes).
function gossipProbing(interval = '1s', timeout = '500ms'): { probeIntervalMs: number; probeTimeoutMs: number } {
  const probeIntervalMs = parseDuration('--gossip-probe-interval', interval, 100, 60_000);
  const probeTimeoutMs = parseDuration('--gossip-probe-timeout', timeout, 50, 60_000);
  if (probeTimeoutMs >= probeIntervalMs)
    throw new Error(
      `--gossip-probe-timeout (${timeout}) must be shorter than --gossip-probe-interval (${interval}): ` +
        'the rest of the interval is for indirect probes',
    );
  return { probeIntervalMs, probeTimeoutMs };
}

// Off with an interval of 0; the timeout ends before the next ping is due.
function vtepSweep(interval = '500ms', timeout = '200ms'): VtepSweepOptions | undefined {
  if (interval.trim() === '0') return undefined;
  const intervalMs = parseDuration('--vtep-sweep-interval', interval, 50, 60_000);
  const timeoutMs = parseDuration('--vtep-sweep-timeout', timeout, 10, 60_000);
  if (timeoutMs >= intervalMs)
    throw new Error(`--vtep-sweep-timeout (${timeout}) must be shorter than --vtep-sweep-interval (${interval})`);
  return { intervalMs, timeoutMs };
}
