import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as ipaddr from 'ipaddr.js';
import type { Logger } from '../../common/log';
import { checkIp, shown } from '../../common/validation';
import { EchoSockets, OpenEchoSockets, openIcmpSockets } from './echo-sockets';
import { COOKIE_LENGTH, Echo, IpVersion, decodeEchoReply, encodeEchoRequest } from './icmp-echo';

// Whether a peer host's kernel still forwards, whatever its agent does: an ICMP echo to its VTEP
// address is answered by the remote kernel alone.

export type VtepAnswer = 'answering' | 'silent';

export interface VtepProberOptions {
  // Probe interval while watching.
  intervalMs?: number;
  // Silent after no answer for this long.
  windowMs?: number;
  // Probe interval once silent (it may come back).
  silentIntervalMs?: number;
  // Global cap: with many watched VTEPs, each one's interval (and window) stretches to stay under it.
  maxProbesPerSecond?: number;
  log: Logger;
}

type Settings = Required<Omit<VtepProberOptions, 'log'>>;

// Time as the prober sees it: a monotonic clock and one-shot timers that keep no process alive.
export interface ProberClock {
  now(): number;
  // Returns the timer's cancel.
  setTimer(ms: number, callback: () => void): () => void;
}

export const realClock: ProberClock = {
  now: () => performance.now(),
  setTimer(ms, callback) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

interface Watched {
  // As the caller named it, in events.
  readonly vtep: string;
  // As sent to and as replies come from (::ffff:a.b.c.d is IPv4 to the kernel).
  readonly address: string;
  readonly version: IpVersion;
  answer: VtepAnswer;
  // The last reply, or when watching began: a VTEP starts with the benefit of the doubt.
  heardAt: number;
  // Probes sent (or refused by the kernel) since then.
  unanswered: number;
  nextProbeAt: number;
  // The sequence numbers of its latest probes (a ring), and how many were sent.
  readonly recent: Uint16Array;
  sent: number;
  // A refused send is logged once, not every interval.
  sendFailing: boolean;
}

// A one-shot probe (see ping): answered or not within its timeout.
interface Ping {
  readonly address: string;
  readonly answered: (yes: boolean) => void;
  cancel: () => void;
}

// Replies to a VTEP's latest probes count, up to this many back (more than a window spans); older
// ones say nothing about now.
const OUTSTANDING = 16;

// A window spans ten probes: with 10 % loss each way (19 % per round trip) a VTEP that answers goes
// a whole window unanswered about once in 10^7 windows, while a gone host is found within half a second.
function settingsOf(options: VtepProberOptions): Settings {
  const settings: Settings = {
    intervalMs: options.intervalMs ?? 50,
    windowMs: options.windowMs ?? 500,
    silentIntervalMs: options.silentIntervalMs ?? 1000,
    maxProbesPerSecond: options.maxProbesPerSecond ?? 200,
  };
  for (const [name, value] of Object.entries(settings))
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`VTEP prober: ${name} must be a positive number, not ${shown(value)}`);
  if (settings.windowMs < 2 * settings.intervalMs)
    throw new Error(
      `VTEP prober: windowMs (${settings.windowMs}) must span at least two probes (intervalMs ${settings.intervalMs})`,
    );
  return settings;
}

// The address replies would come from, or undefined if the text is not an IP address.
function addressOf(vtep: string): { address: string; version: IpVersion } | undefined {
  try {
    const address = ipaddr.process(checkIp('VTEP', vtep));
    return { address: address.toString(), version: address.kind() === 'ipv4' ? 4 : 6 };
  } catch {
    return undefined;
  }
}

export class VtepProber extends EventEmitter<{ change: [vtep: string, answer: VtepAnswer] }> {
  private readonly settings: Settings;
  private readonly log: Logger;
  private readonly sockets: EchoSockets;
  // Every probe carries both; a reply that does not echo them is someone else's.
  private readonly identifier = randomInt(0x10000);
  private readonly cookie = randomBytes(COOKIE_LENGTH);
  // One sequence for all VTEPs, so that a probe's number is its own; it starts at random, so that a
  // blind guess rarely matches.
  private sequence = randomInt(0x10000);
  private readonly watched = new Map<string, Watched>();
  // One-shot probes awaiting a reply, by sequence number.
  private readonly pings = new Map<number, Ping>();
  private readonly counters = { probesSent: 0, repliesReceived: 0, ignored: 0, sendErrors: 0 };
  // No two probes closer together than the global cap allows, also when many VTEPs are due at once.
  private nextSendAt = -Infinity;
  private cancelTimer: (() => void) | undefined;
  private timerDueAt = 0;
  private closed = false;
  // A refused one-shot probe is logged once, not at every ping.
  private pingFailing = false;
  // Why the kernel last refused a probe, for the log.
  private lastSendError: unknown;

  // Opens the raw ICMP sockets in the process's current network namespace (needs CAP_NET_RAW).
  static open(options: VtepProberOptions): Promise<VtepProber> {
    return new Promise((resolve) => resolve(new VtepProber(options)));
  }

  // Tests inject fake sockets and a fake clock.
  constructor(
    options: VtepProberOptions,
    openSockets: OpenEchoSockets = openIcmpSockets,
    private readonly clock: ProberClock = realClock,
  ) {
    super();
    this.settings = settingsOf(options);
    this.log = options.log;
    this.sockets = openSockets({
      datagram: (version, source, datagram) => this.receive(version, source, datagram),
      error: (err) => this.log.error('VTEP prober: ICMP socket error; replies may be missed', { err }),
    });
  }

  // Starts probing now (a no-op if watched). The VTEP is 'answering' until a whole window passes
  // with no reply.
  watch(vtep: string): void {
    if (this.closed) throw new Error('VTEP prober is closed: open a new one');
    const target = addressOf(vtep);
    if (target === undefined) throw new Error(`VTEP prober: ${shown(vtep)} is not an IPv4 or IPv6 address`);
    if (this.watched.has(target.address)) return;
    const now = this.clock.now();
    this.watched.set(target.address, {
      vtep,
      ...target,
      answer: 'answering',
      heardAt: now,
      unanswered: 0,
      nextProbeAt: now,
      recent: new Uint16Array(OUTSTANDING),
      sent: 0,
      sendFailing: false,
    });
    this.schedule();
  }

  // One probe, whether or not the VTEP is watched: `answered` is told once whether a reply came within
  // timeoutMs. The timeout is judged on the turn after it fires, once waiting replies have been read,
  // so that a busy event loop does not make a reply late. A probe the kernel refuses is unanswered.
  ping(vtep: string, timeoutMs: number, answered: (yes: boolean) => void): void {
    if (this.closed) throw new Error('VTEP prober is closed: open a new one');
    const target = addressOf(vtep);
    if (target === undefined) throw new Error(`VTEP prober: ${shown(vtep)} is not an IPv4 or IPv6 address`);
    const sequence = this.nextSequence();
    const ping: Ping = { address: target.address, answered, cancel: () => undefined };
    this.pings.set(sequence, ping);
    const unanswered = () => {
      if (this.pings.get(sequence) !== ping) return;
      this.pings.delete(sequence);
      answered(false);
    };
    ping.cancel = this.clock.setTimer(timeoutMs, () => {
      ping.cancel = this.clock.setTimer(0, unanswered);
    });
    if (!this.send(target.version, target.address, sequence)) {
      if (!this.pingFailing)
        this.log.warn('VTEP prober: the kernel refused a probe', { vtep, err: this.lastSendError });
      this.pingFailing = true;
      ping.cancel();
      unanswered();
      return;
    }
    this.pingFailing = false;
  }

  // Stops probing and forgets the VTEP (no event).
  unwatch(vtep: string): void {
    const target = addressOf(vtep);
    if (target === undefined || !this.watched.delete(target.address)) return;
    if (this.watched.size === 0) this.schedule();
  }

  answer(vtep: string): VtepAnswer | undefined {
    const target = addressOf(vtep);
    return target && this.watched.get(target.address)?.answer;
  }

  quietMs(vtep: string): number | undefined {
    const target = addressOf(vtep);
    const watched = target && this.watched.get(target.address);
    return watched && this.clock.now() - watched.heardAt;
  }

  // ignored: datagrams that were not a reply to one of our probes; sendErrors: probes the kernel refused.
  stats(): { probesSent: number; repliesReceived: number; watched: number; ignored: number; sendErrors: number } {
    return { ...this.counters, watched: this.watched.size };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watched.clear();
    for (const ping of this.pings.values()) ping.cancel();
    this.pings.clear();
    this.schedule();
    this.sockets.close();
  }

  private receive(version: IpVersion, source: string, datagram: Buffer): void {
    const echo = decodeEchoReply(version, datagram);
    if (echo && this.pinged(source, echo)) return;
    const watched = echo && this.watched.get(addressOf(source)?.address ?? '');
    if (echo === undefined || watched === undefined || !this.answers(watched, echo)) {
      this.counters.ignored++;
      return;
    }
    this.counters.repliesReceived++;
    const now = this.clock.now();
    watched.heardAt = now;
    watched.unanswered = 0;
    if (watched.answer === 'answering') return;
    watched.nextProbeAt = Math.min(watched.nextProbeAt, now + this.settings.intervalMs);
    this.turn(watched, 'answering');
    this.schedule();
  }

  // A reply to a one-shot probe: its sequence, from the address probed, with our identifier and cookie.
  private pinged(source: string, echo: Echo): boolean {
    const ping = this.pings.get(echo.sequence);
    if (!ping || !this.ours(echo) || addressOf(source)?.address !== ping.address) return false;
    this.pings.delete(echo.sequence);
    ping.cancel();
    this.counters.repliesReceived++;
    ping.answered(true);
    return true;
  }

  private ours(echo: Echo): boolean {
    return echo.identifier === this.identifier && echo.cookie.equals(this.cookie);
  }

  private answers(watched: Watched, echo: Echo): boolean {
    const recent = watched.recent.subarray(0, Math.min(watched.sent, OUTSTANDING));
    return this.ours(echo) && recent.includes(echo.sequence);
  }

  // Under the cap, due probes go earliest first, so every VTEP's interval stretches by the same factor
  // (wanted probes per second / cap); windows stretch with them, so that a window still spans as many
  // probes.
  private stretch(): number {
    let perSecond = 0;
    for (const w of this.watched.values())
      perSecond += 1000 / (w.answer === 'answering' ? this.settings.intervalMs : this.settings.silentIntervalMs);
    return Math.max(1, perSecond / this.settings.maxProbesPerSecond);
  }

  private tick(): void {
    this.cancelTimer = undefined;
    const now = this.clock.now();
    const stretch = this.stretch();
    // A timer that fires late means a busy event loop: replies may be waiting unread, and no probe went
    // out while it was busy, so silence is judged on a later, timely turn, once probes have gone out and
    // their replies have been read.
    if (now - this.timerDueAt <= this.settings.intervalMs * stretch) this.judge(now, stretch);
    this.probeMostOverdue(now);
    this.schedule();
  }

  // Silent: a whole window without a reply, and half a window's probes unanswered. The count is what a
  // stalled loop lacks: after a stall the last reply is old, but only the probes sent since say anything.
  private judge(now: number, stretch: number): void {
    const unansweredNeeded = Math.max(1, Math.floor(this.settings.windowMs / this.settings.intervalMs / 2));
    // Live iteration: a listener may unwatch (or close) as it is told.
    for (const w of this.watched.values())
      if (
        w.answer === 'answering' &&
        now - w.heardAt >= this.settings.windowMs * stretch &&
        w.unanswered >= unansweredNeeded
      )
        this.turn(w, 'silent');
  }

  private probeMostOverdue(now: number): void {
    if (now < this.nextSendAt) return;
    let due: Watched | undefined;
    for (const w of this.watched.values())
      if (w.nextProbeAt <= now && !(due && due.nextProbeAt <= w.nextProbeAt)) due = w;
    if (due === undefined) return;
    const interval = due.answer === 'answering' ? this.settings.intervalMs : this.settings.silentIntervalMs;
    due.nextProbeAt = now + interval;
    const sequence = this.nextSequence();
    due.recent[due.sent++ % OUTSTANDING] = sequence;
    due.unanswered++;
    this.nextSendAt = now + 1000 / this.settings.maxProbesPerSecond;
    if (this.send(due.version, due.address, sequence)) {
      due.sendFailing = false;
      return;
    }
    if (!due.sendFailing)
      this.log.warn('VTEP prober: the kernel refused a probe', { vtep: due.vtep, err: this.lastSendError });
    due.sendFailing = true;
  }

  private nextSequence(): number {
    this.sequence = (this.sequence + 1) & 0xffff;
    return this.sequence;
  }

  // Whether the kernel took the probe.
  private send(version: IpVersion, address: string, sequence: number): boolean {
    const echo = { identifier: this.identifier, sequence, cookie: this.cookie };
    try {
      this.sockets.send(version, address, encodeEchoRequest(version, echo));
      this.counters.probesSent++;
      return true;
    } catch (err) {
      this.counters.sendErrors++;
      this.lastSendError = err;
      return false;
    }
  }

  private turn(w: Watched, answer: VtepAnswer): void {
    w.answer = answer;
    this.log.info(answer === 'silent' ? 'VTEP silent: no echo reply for a whole window' : 'VTEP answering again', {
      vtep: w.vtep,
    });
    this.emit('change', w.vtep, answer);
  }

  // One timer for every watched VTEP, at the next probe or the next end of a window; none when nothing
  // is watched, so the steady state costs nothing.
  private schedule(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.watched.size === 0) return;
    const windowMs = this.settings.windowMs * this.stretch();
    const now = this.clock.now();
    let wake = Infinity;
    for (const w of this.watched.values()) {
      wake = Math.min(wake, Math.max(w.nextProbeAt, this.nextSendAt));
      // A window already over waits for its unanswered probes: judged at the turns that send them.
      if (w.answer === 'answering' && w.heardAt + windowMs > now) wake = Math.min(wake, w.heardAt + windowMs);
    }
    this.timerDueAt = Math.max(wake, now);
    this.cancelTimer = this.clock.setTimer(this.timerDueAt - now, () => this.tick());
  }
}
