import type { Logger } from '../../common/log';
import { realClock, type ProberClock } from './vtep-prober';

// A steady, cheap check that a peer host still forwards, answered by its kernel rather than its agent.
// Gossip's own probing finds a gone host only when some member happens to probe it: at memberlist's
// LAN profile that is about once a second across the whole cluster, at random, so one host in a
// hundred waits more than 4.6 s before anyone looks. The sweep looks at every peer at a steady beat
// instead: each host pings one peer's VTEP per interval, and the hosts take turns so that every peer
// is pinged once per interval by some host. A ping that goes unanswered starts the same fast check as a
// failed gossip probe (HostLiveness.pathInDoubt). Like gossip's probing, it costs each host a
// constant rate whatever the cluster's size.

export interface SweepPeer {
  name: string;
  vtep: string;
}

export interface VtepSweepOptions {
  // One ping per interval (ms); hosts tick on wall-clock multiples of it (each at its own phase), so
  // with synchronised clocks their turns interleave exactly.
  intervalMs: number;
  // A ping unanswered for this long (ms) starts the fast check.
  timeoutMs: number;
}

export interface SweepHooks {
  // Peers whose entries this host programs, with their VTEPs.
  peers(): SweepPeer[];
  // A peer whose VTEP did not answer a ping.
  unanswered(name: string): void;
}

export interface SweepReach {
  ping(vtep: string, timeoutMs: number, answered: (yes: boolean) => void): void;
  // Defined while the VTEP is watched: it is probed fast already, and a sweep ping would add nothing.
  answer(vtep: string): 'answering' | 'silent' | undefined;
}

// Every host, ourselves included, in the order all hosts agree on.
function sweepOrder(members: readonly string[], self: string): string[] {
  return [...new Set([...members, self])].sort();
}

// Whom `self` pings at a tick: with every host ordering the same members, the host at index i pings
// the one i+1+(tick mod (n-1)) places after it. At each tick that maps hosts one-to-one onto the
// others, so every member is pinged exactly once per tick, by a different host each tick in turn
// (a path broken only between two hosts is found too, within n-1 ticks).
export function sweepTarget(members: readonly string[], self: string, tick: number): string | undefined {
  const order = sweepOrder(members, self);
  if (order.length < 2) return undefined;
  const offset = 1 + (((tick % (order.length - 1)) + order.length - 1) % (order.length - 1));
  return order[(order.indexOf(self) + offset) % order.length];
}

// Wall-clock time, so that hosts tick together.
const wallClock: ProberClock = { now: Date.now, setTimer: (ms, callback) => realClock.setTimer(ms, callback) };

// When within each interval `self` pings (ms): hosts spread evenly over it in the same order, so that
// hosts sharing a machine's cores (a lab, a benchmark) do not all wake at once, and each peer's pings
// come at an even beat.
export function sweepPhase(members: readonly string[], self: string, intervalMs: number): number {
  const order = sweepOrder(members, self);
  return (order.indexOf(self) * intervalMs) / order.length;
}

export class VtepSweep {
  private stopTimer: (() => void) | undefined;
  private stopped = true;
  private lastTick = -Infinity;
  private readonly counters = { pinged: 0, unanswered: 0 };

  constructor(
    private readonly self: string,
    private readonly reach: SweepReach,
    private readonly hooks: SweepHooks,
    private readonly options: VtepSweepOptions,
    private readonly log: Logger,
    private readonly clock: ProberClock = wallClock,
  ) {
    if (!(options.intervalMs > 0) || !(options.timeoutMs > 0) || options.timeoutMs >= options.intervalMs)
      throw new Error(
        `VTEP sweep: the timeout (${options.timeoutMs} ms) must be positive and shorter than the interval (${options.intervalMs} ms)`,
      );
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  // pinged: pings sent; unanswered: those that started a fast check.
  stats(): { pinged: number; unanswered: number } {
    return { ...this.counters };
  }

  // The next tick: a multiple of the interval plus this host's phase; ticks missed while the event loop
  // was busy are skipped.
  private schedule(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const { intervalMs } = this.options;
    const phase = sweepPhase(
      this.hooks.peers().map((p) => p.name),
      this.self,
      intervalMs,
    );
    // Never the same tick twice: a timer may fire a little early.
    const tick = Math.max(Math.floor((now - phase) / intervalMs) + 1, this.lastTick + 1);
    this.stopTimer = this.clock.setTimer(Math.max(0, tick * intervalMs + phase - now), () => {
      this.lastTick = tick;
      this.tick(tick);
      this.schedule();
    });
  }

  private tick(tick: number): void {
    const peers = this.hooks.peers();
    const name = sweepTarget(
      peers.map((p) => p.name),
      this.self,
      tick,
    );
    const peer = peers.find((p) => p.name === name);
    if (peer === undefined || this.reach.answer(peer.vtep) !== undefined) return;
    this.counters.pinged++;
    this.reach.ping(peer.vtep, this.options.timeoutMs, (yes) => {
      if (yes || this.stopped) return;
      this.counters.unanswered++;
      this.log.debug('VTEP sweep: ping unanswered, checking the path', { peer: peer.name, vtep: peer.vtep });
      this.hooks.unanswered(peer.name);
    });
  }
}
