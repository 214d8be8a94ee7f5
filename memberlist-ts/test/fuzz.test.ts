import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { AliveDelegate, PingDelegate } from '../src/delegate';
import { Memberlist } from '../src/memberlist';
import {
  MessageType,
  NodeStateType,
  decodeAck,
  encodeAck,
  encodeAlive,
  encodeDead,
  encodeErr,
  encodeIndirectPing,
  encodeNack,
  encodePing,
  encodeSuspect,
  parseBody,
} from '../src/messages';
import { encode } from '../src/msgpack';
import {
  PacketSecurity,
  compressMessage,
  decompressMessage,
  makeCompound,
  openPacket,
  sealPacket,
  splitCompound,
} from '../src/packet';
import { encodePushPull, encodeUserStream, sealStream } from '../src/stream';
import { NetTransport } from '../src/transport';
import {
  FencedTransport,
  NodeSet,
  addressOf,
  converged,
  describeViews,
  fastConfig,
  prng,
  sleep,
  stateOf,
  waitFor,
} from './helpers';

const PACKETS = 100_000;
const TCP_STREAMS = 300;
const LOCAL = Buffer.from([127, 0, 0, 1]);
const noSecurity: PacketSecurity = { keyring: undefined, encryptionVersion: 1, verifyIncoming: false };
// Fuzzed messages carry arbitrary addresses: never let a node send anywhere but loopback.
const loopbackOnly = (host: string) => host === '' || host.startsWith('127.');

// Every message inside a packet (compound and compression unwrapped).
function messagesIn(packet: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const walk = (buf: Buffer, depth: number) => {
    if (buf.length === 0 || depth > 4) return;
    if ((buf[0] as MessageType) === MessageType.Compound)
      for (const p of splitCompound(buf.subarray(1)).parts) walk(p, depth + 1);
    else if ((buf[0] as MessageType) === MessageType.Compress) walk(decompressMessage(buf.subarray(1)), depth + 1);
    else out.push(buf);
  };
  walk(openPacket(packet, noSecurity), 0);
  return out;
}

describe('fuzz: a live node survives hostile packets and streams', function () {
  this.timeout(120_000);
  const set = new NodeSet();
  afterEach(() => set.shutdownAll());

  it(`${PACKETS} random and mutated UDP packets plus ${TCP_STREAMS} garbage TCP streams`, async () => {
    const started = Date.now();
    const gc = (globalThis as { gc?: () => void }).gc;
    const fenceA = new FencedTransport(new NetTransport('127.0.0.1', 0), loopbackOnly);
    const fenceB = new FencedTransport(new NetTransport('127.0.0.1', 0), loopbackOnly);
    let bAcksFromA = 0;
    const pingB: PingDelegate = {
      ackPayload: () => Buffer.alloc(0),
      notifyPingComplete: (other) => {
        if (other.name === 'fuzz-target') bAcksFromA++;
      },
    };
    const timing = { probeIntervalMs: 500, probeTimeoutMs: 250, gossipIntervalMs: 100, pushPullIntervalMs: 3000 };
    // Mutated alive messages would otherwise teach both nodes hundreds of bogus members (legitimately:
    // gossip is unauthenticated), and the observer would then probe the target only once a minute.
    // An alive delegate keeps membership to a few junk names; everything before the veto still runs.
    const allowedNames = new Set(['fuzz-target', 'fuzz-observer', ...Array.from({ length: 10 }, (_, i) => `fz-${i}`)]);
    const veto: AliveDelegate = {
      notifyAlive: (peer) => {
        if (!allowedNames.has(peer.name)) throw new Error('not one of ours');
      },
    };
    const a = await set.start(fastConfig('fuzz-target', { ...timing, transport: fenceA, alive: veto }));
    const b = await set.start(fastConfig('fuzz-observer', { ...timing, transport: fenceB, ping: pingB, alive: veto }));
    await b.join([addressOf(a)]);
    await waitFor(
      () => converged([a, b]),
      5000,
      () => describeViews([a, b]),
    );

    // A socket to send from, and one to receive the target's replies (acks, nacks).
    const sender = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    const sink = dgram.createSocket('udp4');
    let sinkPackets = 0;
    const sinkAcks = new Set<number>();
    sink.on('message', (msg) => {
      sinkPackets++;
      try {
        for (const m of messagesIn(msg))
          if ((m[0] as MessageType) === MessageType.Ack) sinkAcks.add(decodeAck(parseBody(m.subarray(1))).seqNo);
      } catch {
        // Not ours to judge.
      }
    });
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    const sinkPort = sink.address().port;

    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('unhandledRejection', onUncaught);

    try {
      gc?.();
      const heapBefore = process.memoryUsage().heapUsed;

      // Real messages to mutate.
      const rand = prng(20240601);
      const int = (n: number) => Math.floor(rand() * n);
      const bytes = (n: number) => {
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) b[i] = int(256);
        return b;
      };
      const vsn = [1, 5, 2, 0, 0, 0];
      const junkName = () => `fz-${int(12)}`;
      const corpus = (): Buffer[] => [
        encodePing({
          seqNo: int(1 << 20),
          node: 'fuzz-target',
          sourceAddr: LOCAL,
          sourcePort: sinkPort,
          sourceNode: 'fuzzer',
        }),
        encodePing({ seqNo: int(1 << 20), node: '' }),
        encodeIndirectPing({
          seqNo: int(1 << 20),
          target: LOCAL,
          port: sinkPort,
          node: 'nobody',
          nack: true,
          sourceAddr: LOCAL,
          sourcePort: sinkPort,
          sourceNode: 'fuzzer',
        }),
        encodeAck({ seqNo: int(1 << 20), payload: rand() < 0.5 ? null : bytes(int(40)) }),
        encodeNack({ seqNo: int(1 << 20) }),
        encodeSuspect({ incarnation: int(100), node: rand() < 0.5 ? junkName() : 'fuzz-target', from: 'fuzzer' }),
        encodeDead({ incarnation: int(100), node: rand() < 0.5 ? junkName() : 'fuzz-target', from: 'fuzzer' }),
        encodeAlive({
          incarnation: 1 + int(100),
          node: junkName(),
          addr: LOCAL,
          port: 1024 + int(60000),
          meta: bytes(int(20)),
          vsn,
        }),
        encodeAlive({
          incarnation: 1 + int(100),
          node: junkName(),
          addr: Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), LOCAL]),
          port: 1024 + int(60000),
          meta: Buffer.alloc(0),
          vsn,
        }),
        Buffer.concat([Buffer.from([MessageType.User]), bytes(1 + int(100))]),
        encodeErr('boom'),
        encodePushPull(true, [], Buffer.alloc(0)),
        encodeUserStream(bytes(10)),
      ];
      const hugeLengths = [
        'db ff ff ff ff',
        'dd ff ff ff ff',
        'df ff ff ff ff',
        'da ff ff',
        'dc ff ff',
        'de ff ff',
        'c6 ff ff ff ff',
        'c5 ff ff',
        'd9 ff',
        'cf ff ff ff ff ff ff ff ff',
        'd3 80 00 00 00 00 00 00 00',
      ].map((h) => Buffer.from(h.replace(/ /g, ''), 'hex'));
      const pick = <T>(xs: T[]): T => xs[int(xs.length)];

      const mutate = (msg: Buffer): Buffer => {
        switch (int(12)) {
          case 0: {
            const b = Buffer.from(msg);
            for (let i = 1 + int(8); i > 0; i--) b[int(b.length)] ^= 1 << int(8);
            return b;
          }
          case 1:
            return msg.subarray(0, int(msg.length));
          case 2:
            return bytes(1 + int(rand() < 0.9 ? 1400 : 9000));
          case 3: {
            // A huge declared length (or container count) spliced in where a value could be.
            const at = 1 + int(Math.max(1, msg.length - 1));
            return Buffer.concat([msg.subarray(0, at), pick(hugeLengths), msg.subarray(at, at + int(8))]);
          }
          case 4: {
            // A compound with a bogus count and/or lengths.
            const parts = Array.from({ length: int(4) }, () => pick(corpus()));
            const n = int(256);
            const header = Buffer.alloc(2 + 2 * Math.min(n, 8));
            header[0] = MessageType.Compound;
            header[1] = n;
            for (let i = 0; i < Math.min(n, 8); i++)
              header.writeUInt16BE(rand() < 0.5 ? (parts[i]?.length ?? 0) : int(65536), 2 + 2 * i);
            return Buffer.concat([header, ...parts]);
          }
          case 5: {
            // Compression wrapping garbage, a mutated LZW stream, or an unknown algorithm.
            const inner = compressMessage(mutate(msg)).subarray(1);
            const choice = int(4);
            if (choice === 0)
              return Buffer.concat([Buffer.from([MessageType.Compress]), encode({ Algo: 0, Buf: bytes(int(600)) })]);
            if (choice === 1)
              return Buffer.concat([
                Buffer.from([MessageType.Compress]),
                encode({ Algo: int(4), Buf: bytes(int(50)) }),
              ]);
            const c = Buffer.concat([Buffer.from([MessageType.Compress]), inner]);
            if (choice === 2) c[1 + int(c.length - 1)] ^= 1 << int(8);
            return c;
          }
          case 6: {
            // A CRC layer, right or wrong, around a mutated message.
            const sealed = sealPacket(rand() < 0.5 ? msg : mutate(msg), {
              compress: rand() < 0.5,
              crc: true,
              security: noSecurity,
            });
            if (rand() < 0.5) sealed[1 + int(4)] ^= 1 << int(8);
            return sealed;
          }
          case 7: {
            // Nesting: compounds of compressed compounds of ...
            let m = msg;
            for (let d = 1 + int(8); d > 0; d--)
              m = rand() < 0.5 ? makeCompound([m, pick(corpus())]) : compressMessage(m);
            return m;
          }
          case 8: {
            // Insert, delete or overwrite a run of bytes.
            const at = int(msg.length);
            const op = int(3);
            if (op === 0) return Buffer.concat([msg.subarray(0, at), bytes(1 + int(16)), msg.subarray(at)]);
            if (op === 1) return Buffer.concat([msg.subarray(0, at), msg.subarray(at + 1 + int(16))]);
            const b = Buffer.from(msg);
            bytes(1 + int(16)).copy(b, at);
            return b;
          }
          case 9:
            // A valid message, unchanged (keeps the node busy with real work).
            return msg;
          case 10: {
            // A valid message behind a random type byte.
            const b = Buffer.from(msg);
            b[0] = int(256);
            return b;
          }
          default: {
            // A compressed highly repetitive message (a small decompression bomb, bounded by UDP size).
            const big = Buffer.concat([Buffer.from([MessageType.User]), Buffer.alloc(20_000 + int(40_000), 0x61)]);
            return compressMessage(rand() < 0.5 ? big : makeCompound([big.subarray(0, 30_000)]));
          }
        }
      };

      const target = a.boundPort;
      const receivedBefore = fenceA.received;
      let sentPackets = 0;
      let sendErrors = 0;
      for (let i = 0; i < PACKETS; i++) {
        let packet = mutate(pick(corpus()));
        if (packet.length === 0) packet = Buffer.from([int(256)]);
        if (packet.length > 65_000) packet = packet.subarray(0, 65_000);
        sender.send(packet, target, '127.0.0.1', (err) => {
          if (err) sendErrors++;
        });
        sentPackets++;
        // Throttle: let the node's socket drain (libuv reads a few dozen datagrams per loop turn).
        if (i % 40 === 39) await new Promise<void>((resolve) => setImmediate(resolve));
        if (i % 10_000 === 9_999) await sleep(5);
      }
      await sleep(500);
      const delivered = fenceA.received - receivedBefore;

      // Garbage TCP streams: random bytes, mutated push/pulls, hostile headers, some left open.
      const streamPayloads = (): Buffer => {
        const pp = encodePushPull(
          rand() < 0.5,
          [
            {
              name: junkName(),
              addr: LOCAL,
              port: 1024 + int(60000),
              meta: Buffer.alloc(0),
              incarnation: 1 + int(50),
              state: NodeStateType.Alive,
              vsn,
            },
          ],
          bytes(int(20)),
        );
        switch (int(8)) {
          case 0:
            return bytes(1 + int(4000));
          case 1:
            return mutate(pp);
          case 2:
            return Buffer.concat([
              Buffer.from([MessageType.PushPull]),
              encode({
                Join: true,
                Nodes: pick([-1, 2_000_000, 0xffffffff, 1_000_000]),
                UserStateLen: pick([-1, 0, 1 << 30, 100]),
              }),
            ]);
          case 3: {
            const h = Buffer.alloc(5 + int(100));
            h[0] = MessageType.Encrypt;
            h.writeUInt32BE(pick([0, 1, 29, 0xffffffff, 20 * 1024 * 1024 + 1, int(1000)]), 1);
            return h;
          }
          case 4:
            return sealStream(mutate(pp), { compress: true, security: noSecurity });
          case 5:
            return Buffer.concat([
              Buffer.from([MessageType.User]),
              encode({ UserMsgLen: pick([-5, 1 << 30, 10]) }),
              bytes(int(20)),
            ]);
          case 6:
            return mutate(encodePing({ seqNo: 1, node: 'fuzz-target' }));
          default:
            return pp.subarray(0, int(pp.length));
        }
      };
      let streamsDone = 0;
      const openStream = (payload: Buffer) =>
        new Promise<void>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: target });
          const finish = () => {
            socket.destroy();
            streamsDone++;
            resolve();
          };
          const timer = setTimeout(finish, 1500);
          socket.on('error', () => undefined);
          socket.on('close', () => {
            clearTimeout(timer);
            finish();
          });
          socket.on('data', () => undefined);
          socket.once('connect', () => {
            socket.write(payload);
            if (rand() < 0.5) socket.end();
            else if (rand() < 0.3) setTimeout(() => socket.destroy(), int(50));
          });
        });
      for (let batch = 0; batch < TCP_STREAMS; batch += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, TCP_STREAMS - batch) }, () => openStream(streamPayloads())),
        );
      }
      assert.equal(streamsDone, TCP_STREAMS);

      // The node still answers a clean ping from us...
      const seq = 0x7abcde;
      for (let attempt = 0; attempt < 10 && !sinkAcks.has(seq); attempt++) {
        sender.send(
          encodePing({
            seqNo: seq,
            node: 'fuzz-target',
            sourceAddr: LOCAL,
            sourcePort: sinkPort,
            sourceNode: 'fuzzer',
          }),
          target,
          '127.0.0.1',
        );
        await sleep(200);
      }
      assert.ok(sinkAcks.has(seq), 'the target acked a clean ping after the fuzzing');

      // ...and from the real observer node, which still sees it alive.
      const acksBefore = bAcksFromA;
      await waitFor(
        () => bAcksFromA >= acksBefore + 3,
        10_000,
        () =>
          `observer probes acked: ${bAcksFromA - acksBefore}; observer knows ${b.allNodes().length} nodes (${b.members().length} alive/suspect), sees target ${stateOf(b, 'fuzz-target')}, health ${b.healthScore()}; target knows ${a.allNodes().length}, health ${a.healthScore()}`,
      );
      await waitFor(
        () => stateOf(b, 'fuzz-target') === NodeStateType.Alive,
        10_000,
        () => b.describe().slice(0, 2000),
      );
      assert.equal(a.localNode.state, NodeStateType.Alive);

      await sleep(1500);
      gc?.();
      const heapAfter = process.memoryUsage().heapUsed;
      const growthMb = (heapAfter - heapBefore) / (1 << 20);
      const elapsed = Date.now() - started;
      // A summary, for whoever reads the test log.
      console.log(
        `      fuzz: sent ${sentPackets} packets (${sendErrors} send errors), the target received ${delivered} (${((100 * delivered) / sentPackets).toFixed(1)}%), ` +
          `replied ${sinkPackets} times to the sink, ${streamsDone} streams; target knows ${a.allNodes().length} nodes, ` +
          `its fence blocked ${fenceA.blocked} sends; heap growth ${growthMb.toFixed(1)} MB (gc ${gc ? 'exposed' : 'not exposed'}); ${elapsed} ms`,
      );
      assert.ok(delivered >= sentPackets * 0.5, `only ${delivered} of ${sentPackets} packets reached the node`);
      assert.ok(sinkPackets > 100, 'the target answered pings during the fuzzing');
      assert.ok(growthMb < 50, `heap grew by ${growthMb.toFixed(1)} MB`);
      assert.deepEqual(uncaught, []);
      assert.ok(elapsed < 60_000, `took ${elapsed} ms`);
    } finally {
      process.off('unhandledRejection', onUncaught);
      sender.close();
      sink.close();
    }
  });

  it('a node still joins and converges with the fuzzed node afterwards (clean cluster after a shorter fuzz)', async () => {
    // Garbage that never parses (random bytes, bit-flipped non-alive messages) must leave no trace.
    const fence = new FencedTransport(new NetTransport('127.0.0.1', 0), loopbackOnly);
    const a = await set.start(fastConfig('clean-target', { transport: fence }));
    const sender = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    try {
      const rand = prng(7);
      for (let i = 0; i < 5000; i++) {
        const b = Buffer.alloc(1 + Math.floor(rand() * 200));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
        // Keep the type byte away from gossip types so nothing can legitimately change state.
        b[0] = [0x0b, 0x0d, 0x0a, 0x06, 0xff, 0x02][i % 6];
        sender.send(b, a.boundPort, '127.0.0.1');
        if (i % 40 === 39) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await sleep(300);
      assert.deepEqual(
        a.allNodes().map((n) => n.name),
        ['clean-target'],
      );
      const nodes: Memberlist[] = [a];
      for (let i = 0; i < 3; i++) {
        const m = await set.start(fastConfig(`clean-${i}`));
        await m.join([addressOf(a)]);
        nodes.push(m);
      }
      await waitFor(
        () => converged(nodes),
        5000,
        () => describeViews(nodes),
      );
    } finally {
      sender.close();
    }
  });
});
