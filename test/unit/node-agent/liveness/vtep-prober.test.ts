import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import type { EchoSocketEvents, OpenEchoSockets } from '../../../../node-agent/liveness/echo-sockets';
import { IpVersion, internetChecksum } from '../../../../node-agent/liveness/icmp-echo';
import { VtepAnswer, VtepProber, VtepProberOptions } from '../../../../node-agent/liveness/vtep-prober';
import { FakeClock } from '../../../helpers/fake-clock';

interface Sent {
  at: number;
  version: IpVersion;
  address: string;
  datagram: Buffer;
}

// A peer's kernel as the prober would see it: the addresses in `answering` reply after rttMs.
function echoReply(version: IpVersion, request: Buffer): Buffer {
  const reply = Buffer.from(request);
  reply[0] = version === 4 ? 0 : 129;
  if (version === 6) return reply;
  reply.writeUInt16BE(0, 2);
  reply.writeUInt16BE(internetChecksum(reply), 2);
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + reply.length, 2);
  return Buffer.concat([header, reply]);
}

class FakeNetwork {
  readonly sent: Sent[] = [];
  readonly answering = new Set<string>();
  refusal: Error | undefined;
  closed = false;
  rttMs = 1;
  events!: EchoSocketEvents;

  constructor(private readonly clock: FakeClock) {}

  open: OpenEchoSockets = (events) => {
    this.events = events;
    return {
      send: (version, address, datagram) => {
        if (this.refusal) throw this.refusal;
        this.sent.push({ at: this.clock.time, version, address, datagram });
        if (this.answering.has(address))
          this.clock.setTimer(this.rttMs, () => this.deliver(version, address, echoReply(version, datagram)));
      },
      close: () => {
        this.closed = true;
      },
    };
  };

  deliver(version: IpVersion, source: string, datagram: Buffer): void {
    this.events.datagram(version, source, datagram);
  }

  lastTo(address: string): Sent {
    const last = this.sent.filter((s) => s.address === address).at(-1);
    assert.ok(last, `no probe was sent to ${address}`);
    return last;
  }

  countTo(address: string): number {
    return this.sent.filter((s) => s.address === address).length;
  }
}

function setup(options: Partial<VtepProberOptions> = {}) {
  const clock = new FakeClock();
  const net = new FakeNetwork(clock);
  const logs: string[] = [];
  const log = createLogger({ component: 'test', level: 'debug', write: (line) => logs.push(line) });
  // The timings these cases are written for, whatever the defaults.
  const prober = new VtepProber({ log, intervalMs: 100, windowMs: 1000, ...options }, net.open, clock);
  const changes: Array<{ at: number; vtep: string; answer: VtepAnswer }> = [];
  prober.on('change', (vtep, answer) => changes.push({ at: clock.time, vtep, answer }));
  return { clock, net, prober, changes, logs };
}

const B = '198.18.0.11';
const B6 = '2001:db8::11';

describe('VTEP prober', () => {
  it('tells how long a watched VTEP has been quiet', () => {
    const { clock, net, prober } = setup();
    prober.watch(B);
    assert.equal(prober.quietMs(B), 0, 'watching begins with the benefit of the doubt');
    clock.advance(250);
    assert.equal(prober.quietMs(B), 250);
    net.answering.add(B);
    clock.advance(100);
    assert.ok(prober.quietMs(B)! < 100, 'a reply resets it');
    assert.equal(prober.quietMs('198.18.0.99'), undefined, 'only watched VTEPs');
    prober.close();
  });

  it('costs nothing with nothing watched: no timer, no probe', () => {
    const { clock, net, prober } = setup();
    assert.equal(clock.pending(), 0);
    prober.watch(B);
    clock.advance(0);
    prober.unwatch(B);
    assert.equal(clock.pending(), 0);
    clock.advance(10_000);
    assert.equal(net.sent.length, 1, 'only the probe sent when watching began');
    assert.deepEqual(prober.stats(), { probesSent: 1, repliesReceived: 0, watched: 0, ignored: 0, sendErrors: 0 });
  });

  it('probes a watched VTEP every interval at once, and an answering one stays answering with no event', () => {
    const { clock, net, prober, changes } = setup();
    net.answering.add(B);
    prober.watch(B);
    prober.watch(B);
    clock.advance(0);
    assert.equal(net.sent.length, 1, 'the first probe goes at once, and watching twice is one watch');
    clock.advance(10_000);
    assert.equal(net.sent.length, 101, '10 probes a second');
    assert.equal(prober.answer(B), 'answering');
    assert.deepEqual(changes, []);
    assert.equal(prober.stats().repliesReceived, 100, 'the last reply is on its way');
  });

  it('gives a VTEP the benefit of the doubt for one window, then turns it silent and probes it slowly', () => {
    const { clock, net, prober, changes } = setup();
    prober.watch(B);
    clock.advance(999);
    assert.equal(prober.answer(B), 'answering');
    clock.advance(1);
    assert.deepEqual(changes, [{ at: 2000, vtep: B, answer: 'silent' }]);
    const before = net.countTo(B);
    clock.advance(10_000);
    assert.equal(net.countTo(B) - before, 10, 'a silent VTEP is probed once a second');
  });

  it('turns silent one window after the last reply, and answering again at the first reply', () => {
    const { clock, net, prober, changes } = setup();
    net.answering.add(B);
    prober.watch(B);
    clock.advance(5_000);
    net.answering.delete(B);
    const lastReply = net.lastTo(B).at + net.rttMs;
    clock.advance(5_000);
    assert.deepEqual(changes, [{ at: lastReply + 1000, vtep: B, answer: 'silent' }]);
    const back = clock.time;
    net.answering.add(B);
    clock.advance(1_000);
    const firstAnswered = net.sent.find((s) => s.address === B && s.at >= back)!;
    assert.deepEqual(changes.slice(1), [{ at: firstAnswered.at + net.rttMs, vtep: B, answer: 'answering' }]);
    const nextProbe = net.sent.find((s) => s.address === B && s.at > firstAnswered.at)!;
    assert.ok(nextProbe.at - firstAnswered.at <= 100 + net.rttMs, 'the next probe comes one interval after the reply');
    const before = net.countTo(B);
    clock.advance(1_000);
    assert.equal(net.countTo(B) - before, 10, 'back to probing every interval');
  });

  it('counts only a reply that echoes its identifier, sequence and cookie, from the address probed', () => {
    const { clock, net, prober, changes } = setup();
    prober.watch(B);
    prober.watch('198.18.0.12');
    clock.advance(1_500);
    assert.equal(prober.answer(B), 'silent');
    const probe = net.lastTo(B);
    const reply = echoReply(4, probe.datagram);
    const altered = (offset: number, value: number) => {
      const icmp = Buffer.from(probe.datagram);
      icmp[offset] ^= value;
      icmp.writeUInt16BE(0, 2);
      icmp.writeUInt16BE(internetChecksum(icmp), 2);
      return echoReply(4, icmp);
    };
    const early = net.sent.find((s) => s.address === B)!;
    const badChecksum = Buffer.from(reply);
    badChecksum[22] ^= 1;
    const wrongLength = Buffer.from(reply);
    wrongLength.writeUInt16BE(reply.length + 4, 2);
    const strays: Array<[string, Buffer]> = [
      ['198.18.0.12', reply],
      ['198.18.0.99', reply],
      [B, altered(4, 1)],
      [B, altered(6, 0x80)],
      [B, altered(15, 1)],
      [B, badChecksum],
      [B, reply.subarray(0, 30)],
      [B, wrongLength],
      [B, Buffer.concat([reply, Buffer.alloc(4)])],
      [B, Buffer.from(probe.datagram)],
      [B, Buffer.alloc(0)],
    ];
    for (const [source, datagram] of strays) net.deliver(4, source, datagram);
    net.deliver(6, B, reply.subarray(20));
    assert.equal(prober.answer(B), 'silent');
    assert.equal(prober.stats().ignored, strays.length + 1);
    assert.equal(prober.stats().repliesReceived, 0);
    clock.advance(60_000);
    net.deliver(4, B, echoReply(4, early.datagram));
    assert.equal(prober.answer(B), 'silent', 'a reply to a probe 16 or more probes back is too late');
    net.deliver(4, B, echoReply(4, net.lastTo(B).datagram));
    assert.equal(prober.answer(B), 'answering');
    assert.equal(changes.filter((c) => c.vtep === B).length, 2);
  });

  it('probes IPv6 VTEPs with ICMPv6 echo, and knows an address however it is spelt', () => {
    const { clock, net, prober } = setup();
    net.answering.add(B6);
    prober.watch('2001:DB8:0::0011');
    clock.advance(0);
    const probe = net.lastTo(B6);
    assert.equal(probe.version, 6);
    assert.equal(probe.datagram[0], 128);
    clock.advance(3_000);
    assert.equal(prober.answer(B6), 'answering');
    prober.watch(`::ffff:${B}`);
    clock.advance(10);
    assert.equal(net.lastTo(B).version, 4, 'an IPv4-mapped address is probed over IPv4');
    assert.equal(prober.answer(B), 'answering');
    assert.throws(() => prober.watch('198.18.0.300'), /not an IPv4 or IPv6 address/);
  });

  it('keeps the total under maxProbesPerSecond: many VTEPs are probed less often, over a longer window', () => {
    const { clock, net, prober, changes } = setup({ maxProbesPerSecond: 50 });
    const vteps = Array.from({ length: 20 }, (_, i) => `198.18.1.${i + 1}`);
    for (const v of vteps.slice(1)) net.answering.add(v);
    for (const v of vteps) prober.watch(v);
    clock.advance(20_000);
    const gaps = net.sent.slice(1).map((s, i) => s.at - net.sent[i].at);
    assert.ok(Math.min(...gaps) >= 20, `two probes ${Math.min(...gaps)} ms apart, under a cap of 50/s`);
    assert.ok(net.sent.length <= 50 * 20 + 1, `${net.sent.length} probes in 20 s`);
    for (const v of vteps.slice(1)) assert.ok(net.countTo(v) >= 20, `${v} probed ${net.countTo(v)} times`);
    // 20 VTEPs wanting 10/s each under a cap of 50/s: intervals and the window stretch 4 times.
    assert.deepEqual(
      changes.map((c) => c.vtep),
      [vteps[0]],
    );
    assert.ok(changes[0].at - 1000 >= 3_500, `the silent one turned silent after ${changes[0].at - 1000} ms`);
  });

  it('judges no silence on a late timer (a busy event loop): the replies waiting are read first', () => {
    const { clock, net, prober, changes } = setup();
    net.answering.add(B);
    prober.watch(B);
    clock.advance(450);
    net.answering.delete(B);
    clock.advance(50);
    const lastBeforeBlock = net.lastTo(B);
    // The event loop blocks for 3 s: the reply to the last probe arrives meanwhile and waits in the
    // socket, read only after the (late) timers of that turn have run.
    clock.time += 3_000;
    clock.setTimer(0, () => net.deliver(4, B, echoReply(4, lastBeforeBlock.datagram)));
    clock.advance(900);
    assert.deepEqual(changes, []);
  });

  it('judges no silence on the first timely turn after a stall: the probes since have not gone unanswered', () => {
    const { clock, net, prober, changes } = setup();
    net.answering.add(B);
    prober.watch(B);
    clock.advance(505);
    // The event loop blocks for 3 s, sending nothing (every reply so far read); the first probe after
    // it is lost (10 % loss).
    net.answering.delete(B);
    clock.time += 3_000;
    clock.advance(1);
    net.answering.add(B);
    // The next turn is on time, with the last reply 3 s old but one probe unanswered since.
    clock.advance(1_000);
    assert.equal(changes.length, 0, JSON.stringify(changes));
    // Silence still needs only a window once probes go unanswered.
    net.answering.delete(B);
    clock.advance(1_200);
    assert.deepEqual(
      changes.map((c) => c.answer),
      ['silent'],
    );
  });

  it('counts a probe the kernel refuses, logs it once, and turns the VTEP silent', () => {
    const { clock, net, prober, changes, logs } = setup();
    net.refusal = Object.assign(new Error('ICMP send: Operation not permitted'), { errno: 1 });
    prober.watch(B);
    clock.advance(2_000);
    assert.deepEqual(
      changes.map((c) => c.answer),
      ['silent'],
    );
    assert.equal(prober.stats().probesSent, 0);
    assert.ok(prober.stats().sendErrors >= 10);
    assert.equal(logs.filter((l) => l.includes('refused a probe')).length, 1);
  });

  it('forgets an unwatched VTEP with no event, and close stops everything', () => {
    const { clock, net, prober, changes } = setup();
    prober.watch(B);
    prober.watch(B6);
    prober.unwatch(B);
    assert.equal(prober.answer(B), undefined);
    prober.close();
    clock.advance(5_000);
    assert.deepEqual(changes, []);
    assert.equal(clock.pending(), 0);
    assert.ok(net.closed);
    assert.throws(() => prober.watch(B), /closed/);
  });

  it('pings once, watched or not: answered by a matching reply, unanswered after the timeout', () => {
    const { clock, net, prober } = setup();
    const results: Array<{ vtep: string; yes: boolean; at: number }> = [];
    const ping = (vtep: string) => prober.ping(vtep, 200, (yes) => results.push({ vtep, yes, at: clock.time }));
    net.answering.add(B);
    ping(B);
    ping(B6);
    clock.advance(1_000);
    assert.deepEqual(results, [
      { vtep: B, yes: true, at: 1001 },
      { vtep: B6, yes: false, at: 1200 },
    ]);
    assert.equal(clock.pending(), 0, 'nothing left running');
    assert.equal(prober.answer(B), undefined, 'a ping watches nothing');
    assert.deepEqual(prober.stats(), { probesSent: 2, repliesReceived: 1, watched: 0, ignored: 0, sendErrors: 0 });
  });

  it("counts a ping's reply only from the address pinged, with its sequence", () => {
    const { clock, net, prober } = setup();
    const results: boolean[] = [];
    prober.ping(B, 200, (yes) => results.push(yes));
    const probe = net.lastTo(B);
    net.deliver(4, '198.18.0.99', echoReply(4, probe.datagram));
    const other = Buffer.from(probe.datagram);
    other.writeUInt16BE((other.readUInt16BE(6) + 1) & 0xffff, 6);
    net.deliver(4, B, echoReply(4, other));
    clock.advance(1_000);
    assert.deepEqual(results, [false]);
    assert.equal(prober.stats().ignored, 2);
  });

  it("judges a ping's timeout after the replies waiting are read (a busy event loop)", () => {
    const { clock, net, prober } = setup();
    const results: boolean[] = [];
    prober.ping(B, 200, (yes) => results.push(yes));
    const probe = net.lastTo(B);
    // The loop blocks past the timeout; the reply waits in the socket, read before the next turn's timers.
    clock.time += 1_000;
    clock.setTimer(0, () => net.deliver(4, B, echoReply(4, probe.datagram)));
    clock.advance(0);
    assert.deepEqual(results, [true]);
  });

  it('a ping the kernel refuses is unanswered at once, logged once', () => {
    const { net, prober, logs } = setup();
    net.refusal = Object.assign(new Error('ICMP send: Network is unreachable'), { errno: 101 });
    const results: boolean[] = [];
    prober.ping(B, 200, (yes) => results.push(yes));
    prober.ping(B, 200, (yes) => results.push(yes));
    assert.deepEqual(results, [false, false]);
    assert.equal(logs.filter((l) => l.includes('refused a probe')).length, 1);
    assert.equal(prober.stats().sendErrors, 2);
  });

  it('refuses settings under which it would flap', () => {
    assert.throws(() => setup({ windowMs: 150 }), /must span at least two probes/);
    assert.throws(() => setup({ maxProbesPerSecond: 0 }), /maxProbesPerSecond must be a positive number/);
  });
});
