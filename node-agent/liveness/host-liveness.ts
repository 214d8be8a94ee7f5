import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/log';
import type { PeerState } from '../gossip/cluster';

// What this host believes of a peer host, from gossip about its agent and from whether its VTEP
// answers a probe that its kernel answers without any agent:
//   alive       gossip says so;
//   suspect     gossip suspects the agent, its VTEP answers (or has not been silent for a window yet);
//   agent-down  gossip declared the agent failed, its VTEP answers: its host still forwards;
//   dead        its VTEP is silent (host gone, or unreachable from here), or its agent has been down
//               for longer than we keep a host's entries without its agent;
//   left        it left gracefully.
export type HostState = 'alive' | 'suspect' | 'agent-down' | 'dead' | 'left';

// Whether a VTEP answers: the prober's part, fast only for VTEPs being watched.
export interface VtepReachability {
  watch(vtep: string): void;
  unwatch(vtep: string): void;
  answer(vtep: string): 'answering' | 'silent' | undefined;
  // Since when (ms) a watched VTEP has not answered: since its last reply, or since watching began.
  quietMs(vtep: string): number | undefined;
  // One probe, watched or not; `answered` says whether a reply came in time (see VtepSweep).
  ping(vtep: string, timeoutMs: number, answered: (yes: boolean) => void): void;
  on(event: 'change', listener: (vtep: string, answer: 'answering' | 'silent') => void): unknown;
  stats(): { probesSent: number; repliesReceived: number; watched: number };
}

// Our own direct gossip probe went unanswered, or another host's probes of the VTEP did.
export type DoubtSource = 'own-probe' | 'peer';

interface Host {
  gossip: PeerState;
  vtep: string | undefined;
  state: HostState;
  sinceMs: number;
  // When gossip declared its agent failed.
  agentDownSinceMs?: number;
  // Our own probe of it went unanswered while gossip, perhaps through others, still has it alive: its
  // VTEP is watched until it answers.
  pathInDoubt?: boolean;
  // Our own gossip probe of it went unanswered lately; whether we told the other hosts.
  ownDoubt?: { told: boolean };
}

// How long a VTEP whose path was in doubt is watched while it answers, before gossip alone watches
// it again: a whole window and more, so that one lucky reply amid a broken path does not end it.
export const PATH_CHECK_MS = 2000;
// How long our own probes of a VTEP whose path is in doubt must go unanswered before we tell the
// other hosts: a few probes (at 50 ms), so that a lone lost gossip probe under random loss rarely
// makes the whole cluster probe, while the rest of the cluster starts its own window well before
// gossip's suspicion would reach it.
export const SHARE_DOUBT_AFTER_MS = 150;

// A timer this late says the event loop was busy (see shareOwnDoubt).
const LATE_TIMER_MS = 50;

export interface LivenessTiming {
  pathCheckMs: number;
  shareDoubtAfterMs: number;
}

// Entries of hosts in these states are programmed.
const FORWARDING: ReadonlySet<HostState> = new Set(['alive', 'suspect', 'agent-down']);

// The three-state view of every peer host (see liveness.md in the design notes): a failed agent is
// not a dead host. Probing costs nothing while gossip is content; it starts when gossip suspects a
// peer, and a host is judged gone from this host's own reachability, so a partial partition
// withdraws only where the path is broken.
// 'doubt': our own gossip probe of a peer failed and its VTEP does not answer our probes either; the
// agent tells the other hosts, so that they probe it too (see PathDoubt in the gossip protocol).
// 'change' says whether the host's entries are programmed here now and were not before, or the
// reverse: only then does the kernel need a pass (alive and suspect both forward).
export class HostLiveness extends EventEmitter<{
  change: [name: string, state: HostState, forwardingChanged: boolean];
  doubt: [name: string];
}> {
  private readonly hosts = new Map<string, Host>();
  private readonly expiry = new Map<string, NodeJS.Timeout>();
  private readonly pathChecks = new Map<string, NodeJS.Timeout>();
  private readonly shareChecks = new Map<string, NodeJS.Timeout>();
  private readonly timing: LivenessTiming;

  constructor(
    private readonly reach: VtepReachability,
    // How long a host whose agent is down keeps its entries while its VTEP answers.
    private readonly agentDownKeepMs: number,
    private readonly log: Logger,
    timing: Partial<LivenessTiming> = {},
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.timing = { pathCheckMs: PATH_CHECK_MS, shareDoubtAfterMs: SHARE_DOUBT_AFTER_MS, ...timing };
    reach.on('change', (vtep, answer) => {
      for (const [name, host] of this.hosts) {
        if (host.vtep !== vtep) continue;
        // The path works again: gossip alone watches it from here on.
        if (host.pathInDoubt && answer === 'answering') {
          host.pathInDoubt = undefined;
          reach.unwatch(vtep);
        }
        if (answer === 'answering') host.ownDoubt = undefined;
        // It answered when our gossip probe failed (its agent, not its host, was gone), and has gone
        // silent since: the other hosts are told now.
        if (answer === 'silent') this.tell(name, host);
        this.judge(name, host);
      }
    });
  }

  // Gossip's word on a peer (a join, a state change or new meta).
  update(name: string, gossip: PeerState, vtep: string | undefined): void {
    const before = this.hosts.get(name);
    // A peer first heard of as failed counts as failed from now: its agent may be down, not its host.
    const host: Host = before ?? { gossip: 'alive', vtep, state: 'alive', sinceMs: this.now() };
    if (before && before.vtep !== vtep && before.vtep !== undefined) this.reach.unwatch(before.vtep);
    if (gossip === 'dead' && host.gossip !== 'dead') host.agentDownSinceMs = this.now();
    if (gossip !== 'dead') host.agentDownSinceMs = undefined;
    host.gossip = gossip;
    host.vtep = vtep;
    this.hosts.set(name, host);
    if (gossip !== 'alive') host.pathInDoubt = undefined;
    if (host.vtep !== undefined) {
      if (gossip === 'suspect' || gossip === 'dead' || host.pathInDoubt) this.reach.watch(host.vtep);
      else this.reach.unwatch(host.vtep);
    }
    this.judge(name, host, before === undefined);
  }

  // Our direct gossip probe of a peer went unanswered ('own-probe'), or another host's probes of it
  // did ('peer'): gossip may still have it alive through other nodes, but the path from here may be
  // broken. Its VTEP is watched, and withdrawn here only if silent.
  pathInDoubt(name: string, from: DoubtSource = 'own-probe'): void {
    const host = this.hosts.get(name);
    if (!host || host.vtep === undefined || host.gossip === 'left') return;
    const vtep = host.vtep;
    if (from === 'own-probe') this.shareOwnDoubt(name, host, vtep);
    if (host.gossip !== 'alive' || host.pathInDoubt) return;
    host.pathInDoubt = true;
    this.reach.watch(vtep);
    // Answering all along: the path works, and probing stops (a silent VTEP stays watched until it answers).
    this.later(this.pathChecks, name, this.timing.pathCheckMs, () => {
      if (!host.pathInDoubt || this.reach.answer(vtep) !== 'answering') return;
      host.pathInDoubt = undefined;
      if (host.gossip === 'alive') this.reach.unwatch(vtep);
      this.judge(name, host);
    });
    this.judge(name, host);
  }

  // The other hosts are told once our probes of the VTEP stay unanswered for a moment, or once it goes
  // silent within a path check (it answered when our gossip probe failed: its agent, not yet its host,
  // was gone). Also when gossip already suspects the host: the suspicion spreads epidemically, a doubt
  // reaches every host at once. Forgotten after a path check unless the VTEP is silent.
  private shareOwnDoubt(name: string, host: Host, vtep: string): void {
    if (host.ownDoubt) return;
    host.ownDoubt = { told: false };
    const { shareDoubtAfterMs, pathCheckMs } = this.timing;
    const dueAt = this.now() + shareDoubtAfterMs;
    const check = () => {
      if ((this.reach.quietMs(vtep) ?? 0) >= shareDoubtAfterMs) this.tell(name, host);
      this.later(this.shareChecks, name, Math.max(0, pathCheckMs - shareDoubtAfterMs), () => {
        if (this.reach.answer(vtep) !== 'silent') host.ownDoubt = undefined;
      });
    };
    // A busy event loop fires the timer late, with replies perhaps still unread: they are read before
    // the next turn's timers, so the quiet is judged then.
    this.later(this.shareChecks, name, shareDoubtAfterMs, () =>
      this.now() - dueAt > LATE_TIMER_MS ? this.later(this.shareChecks, name, 0, check) : check(),
    );
  }

  state(name: string): HostState | undefined {
    return this.hosts.get(name)?.state;
  }

  // When the current state began (ms since the epoch).
  since(name: string): number | undefined {
    return this.hosts.get(name)?.sinceMs;
  }

  // Whether this host programs the peer's entries.
  forwards(name: string): boolean {
    const state = this.hosts.get(name)?.state;
    return state !== undefined && FORWARDING.has(state);
  }

  // Peers whose entries are programmed here, with their VTEPs: what the sweep checks.
  forwardingPeers(): Array<{ name: string; vtep: string }> {
    const peers: Array<{ name: string; vtep: string }> = [];
    for (const [name, host] of this.hosts)
      if (FORWARDING.has(host.state) && host.vtep !== undefined) peers.push({ name, vtep: host.vtep });
    return peers;
  }

  counts(): Record<HostState, number> {
    const counts: Record<HostState, number> = { alive: 0, suspect: 0, 'agent-down': 0, dead: 0, left: 0 };
    for (const h of this.hosts.values()) counts[h.state]++;
    return counts;
  }

  close(): void {
    for (const timers of [this.expiry, this.pathChecks, this.shareChecks]) {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    }
  }

  // Once per doubt, and only what our own probes found: a doubt heard from a peer is not relayed.
  private tell(name: string, host: Host): void {
    if (!host.ownDoubt || host.ownDoubt.told) return;
    host.ownDoubt.told = true;
    this.emit('doubt', name);
  }

  private later(timers: Map<string, NodeJS.Timeout>, name: string, ms: number, check: () => void): void {
    clearTimeout(timers.get(name));
    const timer = setTimeout(() => {
      timers.delete(name);
      check();
    }, ms);
    timer.unref();
    timers.set(name, timer);
  }

  private judge(name: string, host: Host, first = false): void {
    const state = this.derive(host);
    this.scheduleExpiry(name, host, state);
    if (state === host.state && !first) return;
    const previous = host.state;
    host.state = state;
    host.sinceMs = this.now();
    if (!first || state !== 'alive') this.log.info('host state', { peer: name, state, previous, vtep: host.vtep });
    this.emit('change', name, state, first || FORWARDING.has(previous) !== FORWARDING.has(state));
  }

  private derive(host: Host): HostState {
    if (host.gossip === 'left') return 'left';
    const answer = host.vtep === undefined ? 'silent' : this.reach.answer(host.vtep);
    if (host.gossip === 'alive') return host.pathInDoubt && answer === 'silent' ? 'dead' : 'alive';
    if (answer === 'silent') return 'dead';
    if (host.gossip === 'suspect') return 'suspect';
    const downFor = this.now() - (host.agentDownSinceMs ?? this.now());
    return downFor < this.agentDownKeepMs ? 'agent-down' : 'dead';
  }

  // An agent-down host is judged again when its time is up; then its VTEP is no longer probed.
  private scheduleExpiry(name: string, host: Host, state: HostState): void {
    clearTimeout(this.expiry.get(name));
    this.expiry.delete(name);
    if (
      state === 'dead' &&
      host.gossip === 'dead' &&
      host.vtep !== undefined &&
      this.reach.answer(host.vtep) !== 'silent'
    )
      this.reach.unwatch(host.vtep);
    if (state !== 'agent-down') return;
    const left = this.agentDownKeepMs - (this.now() - host.agentDownSinceMs!);
    this.later(this.expiry, name, Math.max(0, left), () => this.judge(name, host));
  }
}
