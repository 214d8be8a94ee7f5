import { strict as assert } from 'node:assert';
import { Awareness } from '../src/awareness';
import { TransmitLimitedQueue, retransmitLimit } from '../src/broadcast-queue';
import { defaultLanConfig, defaultLocalConfig, defaultWanConfig } from '../src/config';
import { addrToBytes, addrToString, makeVsn, sameAddr, stateName } from '../src/node';
import { NodeStateType } from '../src/messages';
import { Suspicion, suspicionTimeoutMs } from '../src/suspicion';
import { sleep } from './helpers';

const msg = (s: string) => Buffer.from(s);
const texts = (bufs: Buffer[]) => bufs.map((b) => b.toString());

describe('units: broadcast queue', () => {
  it('retransmit limit is mult x ceil(log10(n + 1))', () => {
    assert.equal(retransmitLimit(4, 3), 4);
    assert.equal(retransmitLimit(4, 9), 4);
    assert.equal(retransmitLimit(4, 10), 8);
    assert.equal(retransmitLimit(2, 99), 4);
    assert.equal(retransmitLimit(2, 100), 6);
    assert.equal(retransmitLimit(4, 0), 0);
  });

  it('sends each broadcast at most the retransmit limit, then calls finished once', () => {
    let n = 3;
    const q = new TransmitLimitedQueue(4, () => n);
    let finished = 0;
    q.queue({ message: msg('a'), finished: () => finished++ });
    for (let i = 0; i < 4; i++) assert.deepEqual(texts(q.take(2, 1400)), ['a'], `round ${i}`);
    assert.deepEqual(q.take(2, 1400), []);
    assert.equal(q.length, 0);
    assert.equal(finished, 1);
    n = 50;
    q.queue({ message: msg('b') });
    let sends = 0;
    while (q.take(2, 1400).length > 0) sends++;
    assert.equal(sends, 8);
  });

  it('least-sent first, newest first among equals', () => {
    const q = new TransmitLimitedQueue(4, () => 3);
    q.queue({ message: msg('old') });
    assert.deepEqual(texts(q.take(0, 3)), ['old']);
    q.queue({ message: msg('mid') });
    q.queue({ message: msg('new') });
    // Room for one 3-byte message: the never-sent, newest one.
    assert.deepEqual(texts(q.take(0, 3)), ['new']);
    assert.deepEqual(texts(q.take(0, 3)), ['mid']);
    // All three sent once now: newest first again.
    assert.deepEqual(texts(q.take(0, 100)), ['new', 'mid', 'old']);
  });

  // Regression: entries sent in one take() used to be appended to the next bucket newest first,
  // while buckets are read from the end, so from the second transmission on the order flipped.
  it('keeps newest-first order among broadcasts sent the same number of times', () => {
    const q = new TransmitLimitedQueue(4, () => 3);
    q.queue({ message: msg('A') });
    q.queue({ message: msg('B') });
    q.queue({ message: msg('C') });
    assert.deepEqual(texts(q.take(0, 100)), ['C', 'B', 'A']);
    // All three have been sent once; the newest goes first again.
    assert.deepEqual(texts(q.take(0, 100)), ['C', 'B', 'A']);
  });

  it('a broadcast with the same name replaces the queued one (and finishes it)', () => {
    const q = new TransmitLimitedQueue(4, () => 3);
    const done: string[] = [];
    q.queue({ name: 'node-1', message: msg('alive-1'), finished: () => done.push('alive-1') });
    q.queue({ name: 'node-2', message: msg('alive-2') });
    q.queue({ name: 'node-1', message: msg('dead-1'), finished: () => done.push('dead-1') });
    assert.deepEqual(done, ['alive-1']);
    assert.equal(q.length, 2);
    assert.deepEqual(texts(q.take(0, 1000)).sort(), ['alive-2', 'dead-1']);
    // Replacing one that has already been sent.
    q.queue({ name: 'node-2', message: msg('suspect-2') });
    assert.equal(q.length, 2);
    assert.deepEqual(texts(q.take(0, 1000)), ['suspect-2', 'dead-1']);
  });

  it('fits the byte budget, skipping what does not fit and taking smaller ones', () => {
    const q = new TransmitLimitedQueue(4, () => 3);
    q.queue({ message: Buffer.alloc(50, 0x61) });
    q.queue({ message: Buffer.alloc(200, 0x62) });
    q.queue({ message: Buffer.alloc(30, 0x63) });
    const out = q.take(2, 100);
    assert.deepEqual(
      out.map((b) => b.length),
      [30, 50],
    );
    assert.ok(out.reduce((s, b) => s + b.length + 2, 0) <= 100);
    assert.deepEqual(
      q.take(2, 100).map((b) => b.length),
      [30, 50],
    );
    // The never-sent one first, then the others newest first.
    assert.deepEqual(
      q.take(2, 1000).map((b) => b.length),
      [200, 30, 50],
    );
    assert.deepEqual(q.take(2, 1), []);
  });

  it('prune keeps the newest entries; reset finishes everything', () => {
    const q = new TransmitLimitedQueue(4, () => 3);
    const done: number[] = [];
    for (let i = 0; i < 10; i++) q.queue({ message: msg(`m${i}`), finished: () => done.push(i) });
    q.prune(4);
    assert.equal(q.length, 4);
    assert.deepEqual(done, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(texts(q.take(0, 1000)), ['m9', 'm8', 'm7', 'm6']);
    q.reset();
    assert.equal(q.length, 0);
    assert.deepEqual(done.slice(6).sort(), [6, 7, 8, 9]);
    assert.deepEqual(q.take(0, 1000), []);
  });

  it('handles thousands of named broadcasts', () => {
    const q = new TransmitLimitedQueue(4, () => 1000);
    for (let i = 0; i < 20_000; i++) q.queue({ name: `n${i % 5000}`, message: msg(`v${i}`) });
    assert.equal(q.length, 5000);
    const out = q.take(2, 1400);
    assert.ok(out.length > 10);
    // Only the latest value of each name survives.
    for (const b of out) assert.ok(Number(b.toString().slice(1)) >= 15_000);
  });
});

describe('units: suspicion and awareness', () => {
  it('suspicion timeout follows memberlist (LAN, fewer than 10 nodes: 4 s; scales with log10 n)', () => {
    assert.equal(suspicionTimeoutMs(4, 5, 1000), 4000);
    assert.equal(suspicionTimeoutMs(4, 1, 1000), 4000);
    assert.equal(suspicionTimeoutMs(4, 0, 1000), 4000);
    assert.equal(suspicionTimeoutMs(4, 100, 1000), 8000);
    assert.equal(suspicionTimeoutMs(3, 1000, 200), 1800);
    // Fixed point: log10(20) = 1.301 -> 1.301 x 4 x 1000.
    assert.equal(suspicionTimeoutMs(4, 20, 1000), 5204);
  });

  it('fires at max without confirmations', async () => {
    let fired: number | undefined;
    const start = Date.now();
    const s = new Suspicion('a', 3, 50, 200, (c) => (fired = c));
    await sleep(120);
    assert.equal(fired, undefined);
    await sleep(150);
    assert.equal(fired, 0);
    assert.ok(Date.now() - start >= 190);
    s.stop();
  });

  it('fires at min right away when k < 1', async () => {
    let fired: number | undefined;
    new Suspicion('a', 0, 50, 5000, (c) => (fired = c));
    await sleep(120);
    assert.equal(fired, 0);
  });

  it('independent confirmations shrink the timeout; duplicates and extra ones do not count', async () => {
    let fired: number | undefined;
    const start = Date.now();
    const s = new Suspicion('a', 2, 100, 3000, (c) => (fired = c));
    assert.equal(s.confirm('a'), false);
    assert.equal(s.confirm('b'), true);
    assert.equal(s.confirm('b'), false);
    assert.equal(s.confirm('c'), true);
    // k reached: further confirmations are not new.
    assert.equal(s.confirm('d'), false);
    await sleep(250);
    assert.equal(fired, 2);
    assert.ok(Date.now() - start < 1000);
  });

  it('stop cancels the timer', async () => {
    let fired = false;
    const s = new Suspicion('a', 0, 30, 30, () => (fired = true));
    s.stop();
    await sleep(80);
    assert.equal(fired, false);
  });

  it('awareness stays within 0..max-1 and scales intervals', () => {
    const a = new Awareness(8);
    assert.equal(a.score, 0);
    a.apply(-1);
    assert.equal(a.score, 0);
    a.apply(3);
    assert.equal(a.scale(1000), 4000);
    a.apply(100);
    assert.equal(a.score, 7);
    assert.equal(a.scale(1000), 8000);
    a.apply(-2);
    assert.equal(a.score, 5);
  });
});

describe('units: node addresses, versions and config', () => {
  it('addrToString normalises 4-byte, IPv4-mapped and IPv6 addresses', () => {
    assert.equal(addrToString(Buffer.from([10, 0, 0, 5])), '10.0.0.5');
    assert.equal(addrToString(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 5])), '10.0.0.5');
    assert.equal(addrToString(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), '::1');
    assert.equal(addrToString(Buffer.from('fe800000000000000000000000000001', 'hex')), 'fe80::1');
    assert.equal(
      addrToString(Buffer.from('20010db8000000000001000000000001', 'hex')).replace(/\b0+(?=\d)/g, ''),
      '2001:db8::1:0:0:1',
    );
    assert.equal(addrToString(Buffer.alloc(0)), '');
    assert.equal(addrToString(Buffer.alloc(5)), '');
  });

  it('addrToBytes gives 4 bytes for IPv4 and 16 for IPv6, and round-trips', () => {
    assert.deepEqual(addrToBytes('10.0.0.5'), Buffer.from([10, 0, 0, 5]));
    assert.deepEqual(addrToBytes('::1'), Buffer.from('00000000000000000000000000000001', 'hex'));
    assert.deepEqual(addrToBytes('fe80::1:2'), Buffer.from('fe800000000000000000000000010002', 'hex'));
    assert.deepEqual(addrToBytes('2001:db8:0:0:0:0:0:1'), Buffer.from('20010db8000000000000000000000001', 'hex'));
    for (const a of ['127.0.0.1', '255.255.255.255', '::1', 'fe80::1', '2001:db8::8:800:200c:417a']) {
      assert.ok(sameAddr(addrToBytes(a), addrToBytes(addrToString(addrToBytes(a)))), a);
    }
    assert.ok(sameAddr(Buffer.from([10, 0, 0, 5]), Buffer.from('00000000000000000000ffff0a000005', 'hex')));
    assert.ok(!sameAddr(Buffer.from([10, 0, 0, 5]), Buffer.from([10, 0, 0, 6])));
  });

  // Regression: the dotted IPv4 tail of '::ffff:a.b.c.d' used to be parsed as one hex group.
  it("addrToBytes understands '::ffff:a.b.c.d'", () => {
    assert.deepEqual(addrToBytes('::ffff:10.0.0.5'), Buffer.from('00000000000000000000ffff0a000005', 'hex'));
  });

  it('vsn and state names', () => {
    assert.deepEqual(makeVsn(2, 2, 5, 5), [1, 5, 2, 2, 5, 5]);
    assert.equal(stateName(NodeStateType.Alive), 'alive');
    assert.equal(stateName(NodeStateType.Suspect), 'suspect');
    assert.equal(stateName(NodeStateType.Dead), 'dead');
    assert.equal(stateName(NodeStateType.Left), 'left');
  });

  it('default configs match the table in §5', () => {
    const lan = defaultLanConfig('x');
    assert.deepEqual(
      [
        lan.probeIntervalMs,
        lan.probeTimeoutMs,
        lan.gossipIntervalMs,
        lan.gossipNodes,
        lan.retransmitMult,
        lan.suspicionMult,
        lan.suspicionMaxTimeoutMult,
        lan.awarenessMaxMultiplier,
        lan.pushPullIntervalMs,
        lan.tcpTimeoutMs,
        lan.indirectChecks,
        lan.gossipToTheDeadTimeMs,
        lan.udpBufferSize,
        lan.protocolVersion,
        lan.bindPort,
      ],
      [1000, 500, 200, 3, 4, 4, 6, 8, 30_000, 10_000, 3, 30_000, 1400, 2, 7946],
    );
    const wan = defaultWanConfig('x');
    assert.deepEqual(
      [
        wan.probeIntervalMs,
        wan.probeTimeoutMs,
        wan.gossipIntervalMs,
        wan.gossipNodes,
        wan.suspicionMult,
        wan.pushPullIntervalMs,
        wan.tcpTimeoutMs,
        wan.gossipToTheDeadTimeMs,
      ],
      [5000, 3000, 500, 4, 6, 60_000, 30_000, 60_000],
    );
    const local = defaultLocalConfig('x');
    assert.deepEqual(
      [
        local.probeIntervalMs,
        local.probeTimeoutMs,
        local.gossipIntervalMs,
        local.retransmitMult,
        local.suspicionMult,
        local.pushPullIntervalMs,
        local.tcpTimeoutMs,
        local.indirectChecks,
        local.gossipToTheDeadTimeMs,
      ],
      [1000, 200, 100, 2, 3, 15_000, 1000, 1, 15_000],
    );
    assert.equal(lan.enableCompression, true);
    assert.equal(lan.gossipVerifyIncoming, true);
    assert.equal(lan.gossipVerifyOutgoing, true);
  });
});
