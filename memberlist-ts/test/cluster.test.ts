import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { TransmitLimitedQueue } from '../src/broadcast-queue';
import type { Config } from '../src/config';
import type { Delegate, EventDelegate, PingDelegate } from '../src/delegate';
import { Keyring } from '../src/keyring';
import { Memberlist } from '../src/memberlist';
import {
  MessageType,
  NodeStateType,
  encodeAlive,
  encodeDead,
  encodePing,
  encodeSuspect,
  parseBody,
  decodeAck,
  decodeErr,
} from '../src/messages';
import type { Node } from '../src/node';
import { encode } from '../src/msgpack';
import { makeCompound } from '../src/packet';
import { encodePushPull, readStreamMessage } from '../src/stream';
import { MemoryNetwork } from '../src/transport';
import {
  NodeSet,
  addressOf,
  aliveNames,
  converged,
  describeViews,
  fastConfig,
  prng,
  sleep,
  stateOf,
  waitFor,
} from './helpers';

const LOCAL = [127, 0, 0, 1];

async function startCluster(
  set: NodeSet,
  count: number,
  prefix: string,
  overrides: (i: number) => Partial<Config> = () => ({}),
): Promise<Memberlist[]> {
  const nodes: Memberlist[] = [];
  for (let i = 0; i < count; i++) nodes.push(await set.start(fastConfig(`${prefix}${i}`, overrides(i))));
  const seed = nodes[0];
  for (const m of nodes.slice(1)) assert.equal(await m.join([addressOf(seed)]), 1);
  return nodes;
}

async function sendUdp(port: number, packet: Buffer): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    s.send(packet, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
  s.close();
}

// A TCP request/reply with a node, as memberlist's streams work: one message each way.
async function tcpExchange(port: number, request: Buffer): Promise<Buffer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(request);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no reply'));
    }, 3000);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const read = readStreamMessage(buf, { keyring: undefined, encryptionVersion: 1, verifyIncoming: false });
      if (read) {
        clearTimeout(timer);
        socket.destroy();
        resolve(read.message);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// User broadcasts the way serf does them: queued in a TransmitLimitedQueue, re-broadcast by each
// receiver the first time it sees one.
class BroadcastDelegate implements Delegate {
  readonly received: string[] = [];
  readonly direct: string[] = [];
  readonly merged: Array<{ state: string; join: boolean }> = [];
  readonly queue: TransmitLimitedQueue;
  private readonly seen = new Set<string>();
  member: Memberlist | undefined;

  constructor(
    private readonly name: string,
    retransmitMult = 2,
  ) {
    this.queue = new TransmitLimitedQueue(retransmitMult, () => this.member?.numMembers() ?? 1);
  }

  nodeMeta(): Buffer {
    return Buffer.from([0xff, 0x80]);
  }

  notifyMsg(payload: Buffer): void {
    const text = payload.toString();
    if (text.startsWith('direct:')) {
      this.direct.push(text);
      return;
    }
    if (this.seen.has(text)) return;
    this.seen.add(text);
    this.received.push(text);
    this.queue.queue({ message: Buffer.from(payload) });
  }

  publish(text: string): void {
    this.seen.add(text);
    this.received.push(text);
    this.queue.queue({ message: Buffer.from(text) });
  }

  getBroadcasts(overhead: number, limit: number): Buffer[] {
    return this.queue.take(overhead, limit);
  }

  localState(join: boolean): Buffer {
    return Buffer.from(`state-of-${this.name}${join ? '-join' : ''}`);
  }

  mergeRemoteState(state: Buffer, join: boolean): void {
    this.merged.push({ state: state.toString(), join });
  }
}

describe('cluster (real UDP/TCP on 127.0.0.1)', function () {
  this.timeout(30_000);
  const set = new NodeSet();
  afterEach(() => set.shutdownAll());

  it('12 nodes join one seed and every node sees all members alive', async () => {
    const nodes = await startCluster(set, 12, 'join-');
    const t = await waitFor(
      () => converged(nodes),
      10_000,
      () => describeViews(nodes),
    );
    assert.ok(t < 10_000);
    for (const m of nodes) {
      assert.equal(m.numMembers(), 12);
      for (const n of m.members()) {
        assert.equal(n.addr, '127.0.0.1');
        assert.deepEqual(n.vsn, [1, 5, 2, 0, 0, 0]);
        assert.equal(n.state, NodeStateType.Alive);
      }
    }
    assert.equal(nodes[0].localNode.name, 'join-0');
    assert.equal(nodes[0].healthScore(), 0);
  });

  it('a node that shuts down without leaving is marked dead by all others', async () => {
    const events: Array<{ viewer: string; event: string; node: string }> = [];
    const eventsFor = (viewer: string): EventDelegate => ({
      notifyJoin: (n: Node) => events.push({ viewer, event: 'join', node: n.name }),
      notifyLeave: (n: Node) => events.push({ viewer, event: 'leave', node: n.name }),
      notifyUpdate: () => undefined,
    });
    const nodes = await startCluster(set, 10, 'fail-', (i) => ({ events: eventsFor(`fail-${i}`) }));
    await waitFor(
      () => converged(nodes),
      10_000,
      () => describeViews(nodes),
    );
    // Every node saw a join for every node (itself included).
    for (let i = 0; i < 10; i++)
      assert.equal(events.filter((e) => e.viewer === `fail-${i}` && e.event === 'join').length, 10);
    const victim = nodes[4];
    const others = nodes.filter((m) => m !== victim);
    await victim.shutdown();
    const t = await waitFor(
      () => others.every((m) => stateOf(m, 'fail-4') === NodeStateType.Dead),
      12_000,
      () => describeViews(others),
    );
    assert.ok(t < 12_000);
    // Nobody else was harmed.
    for (const m of others) {
      assert.equal(m.numMembers(), 9);
      assert.deepEqual(aliveNames(m), others.map((o) => o.config.name).sort());
    }
    for (let i = 0; i < 10; i++) {
      if (i === 4) continue;
      assert.ok(
        events.some((e) => e.viewer === `fail-${i}` && e.event === 'leave' && e.node === 'fail-4'),
        `fail-${i} got notifyLeave`,
      );
    }
  });

  it('a node that leaves before shutting down is seen as left', async () => {
    const nodes = await startCluster(set, 10, 'leave-');
    await waitFor(
      () => converged(nodes),
      10_000,
      () => describeViews(nodes),
    );
    const leaver = nodes[7];
    const others = nodes.filter((m) => m !== leaver);
    await leaver.leave(3000);
    await leaver.shutdown();
    await waitFor(
      () => others.every((m) => stateOf(m, 'leave-7') === NodeStateType.Left),
      5000,
      () => describeViews(others),
    );
    // And it stays left (not turned into dead by a failed probe).
    await sleep(1500);
    for (const m of others) assert.equal(stateOf(m, 'leave-7'), NodeStateType.Left, m.describe());
  });

  it('user broadcasts from a TransmitLimitedQueue reach every node', async () => {
    const delegates: BroadcastDelegate[] = [];
    const nodes = await startCluster(set, 10, 'bc-', (i) => {
      // Each receiver re-broadcasts; a retransmit multiplier of 6 makes the chance that some node
      // is missed by every epidemic round negligible (with 2, one miss in a run is likely).
      const d = new BroadcastDelegate(`bc-${i}`, 6);
      delegates.push(d);
      return { delegate: d };
    });
    nodes.forEach((m, i) => (delegates[i].member = m));
    await waitFor(
      () => converged(nodes),
      10_000,
      () => describeViews(nodes),
    );
    // Meta from the delegate is advertised.
    for (const m of nodes) for (const n of m.members()) assert.deepEqual(n.meta, Buffer.from([0xff, 0x80]));
    delegates[3].publish('hello from 3');
    delegates[8].publish('x'.repeat(600));
    for (let i = 0; i < 20; i++) delegates[i % 10].publish(`burst ${i}`);
    const want = ['hello from 3', 'x'.repeat(600), ...Array.from({ length: 20 }, (_, i) => `burst ${i}`)].sort();
    await waitFor(
      () => delegates.every((d) => d.received.length === want.length),
      10_000,
      () => delegates.map((d, i) => `bc-${i}: ${d.received.length}`).join(', '),
    );
    for (const d of delegates) assert.deepEqual([...d.received].sort(), want);
    // The joiners' push/pull carried their local state to the seed, with join=true.
    const seedMerged = delegates[0].merged
      .filter((x) => x.join)
      .map((x) => x.state)
      .sort();
    for (let i = 1; i < 10; i++)
      assert.ok(seedMerged.includes(`state-of-bc-${i}-join`), `seed merged bc-${i}'s join state`);
    // And the joiners merged the seed's state.
    for (let i = 1; i < 10; i++) assert.ok(delegates[i].merged.some((x) => x.join && x.state === 'state-of-bc-0-join'));
  });

  it('direct messages: sendBestEffort over UDP and sendReliable over TCP', async () => {
    const delegates = [new BroadcastDelegate('d-0'), new BroadcastDelegate('d-1')];
    const nodes = await startCluster(set, 2, 'd-', (i) => ({ delegate: delegates[i] }));
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    nodes[0].sendBestEffort('d-1', Buffer.from('direct:udp'));
    const big = `direct:${'y'.repeat(200_000)}`;
    await nodes[0].sendReliable('d-1', Buffer.from(big));
    await waitFor(
      () => delegates[1].direct.length === 2,
      5000,
      () => `${delegates[1].direct.length} direct messages`,
    );
    assert.ok(delegates[1].direct.includes('direct:udp'));
    assert.ok(delegates[1].direct.includes(big));
    assert.throws(() => nodes[0].sendBestEffort('nobody', Buffer.from('x')));
    await assert.rejects(nodes[0].sendReliable('nobody', Buffer.from('x')));
  });

  it('ping delegate: ack payloads reach the prober with an RTT', async () => {
    const completed: Array<{ from: string; other: string; payload: string }> = [];
    const pingFor = (name: string): PingDelegate => ({
      ackPayload: () => Buffer.from(`coord-${name}`),
      notifyPingComplete: (other, rttMs, payload) => {
        assert.ok(rttMs >= 0);
        completed.push({ from: name, other: other.name, payload: payload.toString() });
      },
    });
    const nodes = await startCluster(set, 3, 'p-', (i) => ({ ping: pingFor(`p-${i}`) }));
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    await waitFor(
      () => completed.filter((c) => c.from === 'p-0').length >= 2,
      5000,
      () => JSON.stringify(completed),
    );
    for (const c of completed) assert.equal(c.payload, `coord-${c.other}`);
  });

  it('refutation: a node accused of being suspect or dead stays alive with a higher incarnation', async () => {
    const nodes = await startCluster(set, 5, 'ref-');
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    const target = nodes[2];
    const inc0 = target.localNode.incarnation;
    // Refuting raises the local health score; successful probes lower it again, so sample it.
    let maxHealth = 0;
    const sampler = setInterval(() => (maxHealth = Math.max(maxHealth, target.healthScore())), 2).unref();

    // A suspect about the target, sent to the target itself.
    await sendUdp(target.boundPort, encodeSuspect({ incarnation: inc0, node: 'ref-2', from: 'ref-0' }));
    await waitFor(
      () => target.localNode.incarnation > inc0,
      3000,
      () => `incarnation ${target.localNode.incarnation}`,
    );
    const inc1 = target.localNode.incarnation;
    assert.equal(target.localNode.state, NodeStateType.Alive);

    // A dead about the target, sent to the target (as a compound, behind a ping for someone else).
    const ping = encodePing({ seqNo: 1, node: 'somebody-else' });
    await sendUdp(
      target.boundPort,
      makeCompound([ping, encodeDead({ incarnation: inc1, node: 'ref-2', from: 'ref-1' })]),
    );
    await waitFor(
      () => target.localNode.incarnation > inc1,
      3000,
      () => `incarnation ${target.localNode.incarnation}`,
    );
    const inc2 = target.localNode.incarnation;

    // An alive about the target with a higher incarnation (a stale self from before a restart).
    const self = target.localNode;
    await sendUdp(
      target.boundPort,
      encodeAlive({
        incarnation: inc2 + 10,
        node: 'ref-2',
        addr: Buffer.from(LOCAL),
        port: self.port,
        meta: Buffer.alloc(0),
        vsn: [1, 5, 2, 0, 0, 0],
      }),
    );
    await waitFor(
      () => target.localNode.incarnation > inc2 + 10,
      3000,
      () => `incarnation ${target.localNode.incarnation}`,
    );

    // The accusation reaching the rest of the cluster: tell another node the target is dead.
    const inc3 = target.localNode.incarnation;
    await sendUdp(nodes[0].boundPort, encodeSuspect({ incarnation: inc3, node: 'ref-2', from: 'liar' }));
    await waitFor(
      () => target.localNode.incarnation > inc3,
      5000,
      () => `incarnation ${target.localNode.incarnation}`,
    );

    // Everybody converges on the target being alive at its latest incarnation.
    await waitFor(
      () =>
        nodes.every((m) =>
          m
            .allNodes()
            .some(
              (n) =>
                n.name === 'ref-2' && n.state === NodeStateType.Alive && n.incarnation === target.localNode.incarnation,
            ),
        ),
      5000,
      () => describeViews(nodes),
    );
    clearInterval(sampler);
    assert.ok(maxHealth > 0, 'refuting raises the local health score');
  });

  it('refutation from push/pull data: a dead entry about a node in a push/pull is refuted', async () => {
    const nodes = await startCluster(set, 2, 'ppref-');
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    const target = nodes[1];
    const me = target.localNode;
    const request = encodePushPull(
      false,
      [
        {
          name: 'ppref-1',
          addr: Buffer.from(LOCAL),
          port: me.port,
          meta: Buffer.alloc(0),
          incarnation: me.incarnation + 5,
          state: NodeStateType.Dead,
          vsn: [1, 5, 2, 0, 0, 0],
        },
      ],
      Buffer.alloc(0),
    );
    const reply = await tcpExchange(target.boundPort, request);
    assert.equal(reply[0], MessageType.PushPull);
    await waitFor(
      () => target.localNode.incarnation > me.incarnation + 5,
      3000,
      () => `incarnation ${target.localNode.incarnation}`,
    );
    await waitFor(
      () =>
        nodes[0]
          .allNodes()
          .some(
            (n) =>
              n.name === 'ppref-1' && n.state === NodeStateType.Alive && n.incarnation === target.localNode.incarnation,
          ),
      5000,
      () => describeViews(nodes),
    );
  });

  it('answers a TCP ping with an ack, and a bad stream with an error reply', async () => {
    const [m] = await startCluster(set, 1, 'tcp-', () => ({ enableCompression: false }));
    const reply = await tcpExchange(m.boundPort, encodePing({ seqNo: 77, node: 'tcp-0' }));
    assert.equal(reply[0], MessageType.Ack);
    assert.equal(decodeAck(parseBody(reply.subarray(1))).seqNo, 77);
    // A push/pull announcing -1 nodes is answered with an error at once (not after tcpTimeout).
    const started = Date.now();
    const err = await tcpExchange(
      m.boundPort,
      Buffer.concat([Buffer.from([MessageType.PushPull]), encode({ Join: false, Nodes: -1, UserStateLen: 0 })]),
    );
    assert.equal(err[0], MessageType.Err);
    assert.match(decodeErr(parseBody(err.subarray(1))), /-1 nodes/);
    assert.ok(Date.now() - started < 500, `error reply took ${Date.now() - started} ms`);
    // A stream that stops mid-message is answered with an error after tcpTimeout.
    const late = await tcpExchange(
      m.boundPort,
      Buffer.concat([Buffer.from([MessageType.PushPull]), Buffer.from([0x83, 0xa4, 0x4a, 0x6f, 0x69, 0x6e])]),
    );
    assert.equal(late[0], MessageType.Err);
  });

  it('encryption: nodes sharing a key form a cluster', async () => {
    const key = Buffer.alloc(32, 0x11);
    const nodes = await startCluster(set, 5, 'enc-', () => ({ keyring: new Keyring([key]) }));
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
  });

  it('encryption: a node with a second installed key joins a cluster using the other key', async () => {
    const oldKey = Buffer.alloc(16, 0x01);
    const newKey = Buffer.alloc(16, 0x02);
    const nodes = await startCluster(set, 3, 'rot-', (i) => ({
      keyring: i === 2 ? new Keyring([newKey, oldKey]) : new Keyring([oldKey, newKey]),
    }));
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
  });

  it('encryption: a node with a different key (or none) cannot join', async () => {
    const nodes = await startCluster(set, 3, 'sec-', () => ({ keyring: new Keyring([Buffer.alloc(32, 0x22)]) }));
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
    const stranger = await set.start(fastConfig('stranger', { keyring: new Keyring([Buffer.alloc(32, 0x33)]) }));
    await assert.rejects(stranger.join([addressOf(nodes[0])]));
    const plain = await set.start(fastConfig('plain'));
    await assert.rejects(plain.join([addressOf(nodes[0])]));
    // And an encrypted node cannot join a plaintext one either.
    await assert.rejects(stranger.join([addressOf(plain)]));
    await sleep(500);
    for (const m of nodes) assert.deepEqual(aliveNames(m), ['sec-0', 'sec-1', 'sec-2']);
    assert.equal(stranger.numMembers(), 1);
    assert.equal(plain.numMembers(), 1);
  });

  it('encryption rollout: with gossipVerifyIncoming off, encrypting and plaintext senders mix', async () => {
    const key = Buffer.alloc(16, 0x55);
    // Two nodes still send plaintext, two already encrypt; all four accept both.
    const nodes = await startCluster(set, 4, 'roll-', (i) => ({
      keyring: new Keyring([key]),
      gossipVerifyIncoming: false,
      gossipVerifyOutgoing: i >= 2,
    }));
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
    // A node that requires encryption can join through one that encrypts...
    const strict = await set.start(fastConfig('roll-strict', { keyring: new Keyring([key]) }));
    assert.equal(await strict.join([addressOf(nodes[3])]), 1);
    // ...but not through one that still sends plaintext.
    const strict2 = await set.start(fastConfig('roll-strict2', { keyring: new Keyring([key]) }));
    await assert.rejects(strict2.join([addressOf(nodes[0])]));
  });

  it('compression off everywhere works', async () => {
    const nodes = await startCluster(set, 6, 'nocomp-', () => ({ enableCompression: false }));
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
  });

  it('compression on everywhere works, with encryption too', async () => {
    const key = Buffer.alloc(24, 0x44);
    const nodes = await startCluster(set, 6, 'comp-', () => ({ enableCompression: true, keyring: new Keyring([key]) }));
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
  });

  it('mixed compression settings interoperate, and failures are still detected', async () => {
    const nodes = await startCluster(set, 6, 'mix-', (i) => ({ enableCompression: i % 2 === 0 }));
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
    await nodes[3].shutdown();
    const others = nodes.filter((_, i) => i !== 3);
    await waitFor(
      () => others.every((m) => stateOf(m, 'mix-3') === NodeStateType.Dead),
      10_000,
      () => describeViews(others),
    );
  });

  it('a crashed node restarted on the same address with incarnation 1 wins back alive (refutes the old dead entry)', async () => {
    const nodes = await startCluster(set, 4, 'rs-');
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    const port = nodes[3].boundPort;
    await nodes[3].shutdown();
    const others = nodes.slice(0, 3);
    await waitFor(
      () => others.every((m) => stateOf(m, 'rs-3') === NodeStateType.Dead),
      10_000,
      () => describeViews(others),
    );
    const deadInc = others[0].allNodes().find((n) => n.name === 'rs-3')!.incarnation;
    const again = await set.start(fastConfig('rs-3', { bindPort: port }));
    assert.equal(again.localNode.incarnation, 1);
    await again.join([addressOf(nodes[0])]);
    const all = [...others, again];
    await waitFor(
      () => converged(all),
      8000,
      () => describeViews(all),
    );
    assert.ok(again.localNode.incarnation > deadInc);
  });

  it('a node that left can come back under the same name from a new address', async () => {
    const nodes = await startCluster(set, 4, 'rj-');
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    const oldPort = nodes[2].boundPort;
    await nodes[2].leave(2000);
    await nodes[2].shutdown();
    const others = [nodes[0], nodes[1], nodes[3]];
    await waitFor(
      () => others.every((m) => stateOf(m, 'rj-2') === NodeStateType.Left),
      5000,
      () => describeViews(others),
    );
    const back = await set.start(fastConfig('rj-2'));
    assert.notEqual(back.boundPort, oldPort);
    await back.join([addressOf(nodes[0])]);
    const all = [...others, back];
    await waitFor(
      () => converged(all),
      8000,
      () => describeViews(all),
    );
    for (const m of others) assert.equal(m.allNodes().find((n) => n.name === 'rj-2')!.port, back.boundPort);
  });

  it("an alive claiming a live member's name from another address is a conflict and is ignored", async () => {
    const conflicts: Array<{ existing: Node; other: Node }> = [];
    const nodes = await startCluster(set, 2, 'cf-', (i) =>
      i === 0 ? { conflict: { notifyConflict: (existing, other) => conflicts.push({ existing, other }) } } : {},
    );
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    const real = nodes[1].localNode;
    await sendUdp(
      nodes[0].boundPort,
      encodeAlive({
        incarnation: real.incarnation + 5,
        node: 'cf-1',
        addr: Buffer.from(LOCAL),
        port: real.port + 1,
        meta: Buffer.alloc(0),
        vsn: [1, 5, 2, 0, 0, 0],
      }),
    );
    await waitFor(
      () => conflicts.length > 0,
      3000,
      () => 'notifyConflict',
    );
    assert.equal(conflicts[0].existing.port, real.port);
    assert.equal(conflicts[0].other.port, real.port + 1);
    const seen = nodes[0].allNodes().find((n) => n.name === 'cf-1')!;
    assert.equal(seen.port, real.port);
    assert.equal(seen.state, NodeStateType.Alive);
  });

  it('updateNode spreads new meta with a higher incarnation (notifyUpdate)', async () => {
    let meta = Buffer.from([0xff, 0x80]);
    const updates: string[] = [];
    const delegate: Delegate = {
      nodeMeta: () => meta,
      notifyMsg: () => undefined,
      getBroadcasts: () => [],
      localState: () => Buffer.alloc(0),
      mergeRemoteState: () => undefined,
    };
    const events: EventDelegate = {
      notifyJoin: () => undefined,
      notifyLeave: () => undefined,
      notifyUpdate: (n) => updates.push(`${n.name}:${n.meta.toString('hex')}`),
    };
    const nodes = await startCluster(set, 4, 'up-', (i) => (i === 0 ? { delegate } : { events }));
    await waitFor(
      () => converged(nodes),
      5000,
      () => describeViews(nodes),
    );
    const inc = nodes[0].localNode.incarnation;
    meta = Buffer.from([0xff, 0x81, 0xa4, 0x72, 0x6f, 0x6c, 0x65, 0xa3, 0x77, 0x65, 0x62]);
    await nodes[0].updateNode(2000);
    assert.equal(nodes[0].localNode.incarnation, inc + 1);
    await waitFor(
      () =>
        nodes.every((m) =>
          m
            .allNodes()
            .find((n) => n.name === 'up-0')!
            .meta.equals(meta),
        ),
      5000,
      () => describeViews(nodes),
    );
    assert.equal(updates.filter((u) => u === `up-0:${meta.toString('hex')}`).length, 3);
  });

  it('join rejects when nothing answers, and resolves with the count reached', async () => {
    const [a, b] = await startCluster(set, 2, 'cnt-');
    const c = await set.start(fastConfig('cnt-2'));
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    assert.equal(await c.join([addressOf(a), `127.0.0.1:${deadPort}`, addressOf(b)]), 2);
    await assert.rejects(c.join([`127.0.0.1:${deadPort}`]));
  });

  // Regression: refute once computed max(own + 1, accused + 1) with no uint32 bound, so an
  // accusation carrying Incarnation 0xFFFFFFFF gave the node incarnation 2^32; its alive messages
  // and push/pulls then failed to decode at every peer and joins through it were rejected.
  it('a refutation never takes the incarnation past uint32', async () => {
    const [a, b] = await startCluster(set, 2, 'ovf-');
    await waitFor(
      () => converged([a, b]),
      5000,
      () => describeViews([a, b]),
    );
    await sendUdp(a.boundPort, encodeSuspect({ incarnation: 0xffffffff, node: 'ovf-0', from: 'liar' }));
    await sleep(300);
    assert.ok(a.localNode.incarnation <= 0xffffffff, `incarnation ${a.localNode.incarnation}`);
    const c = await set.start(fastConfig('ovf-2'));
    assert.equal(await c.join([addressOf(a)]), 1);
    await waitFor(
      () => converged([a, b, c]),
      5000,
      () => describeViews([a, b, c]),
    );
  });

  // Regression: an alive with Port 0 was stored with port 0 (the spec, §2.1, substitutes the
  // local bind port); every probe of it then threw in dgram's send (ERR_SOCKET_BAD_PORT) before it
  // could be suspected, so the bogus member stayed alive forever and broke gossip rounds.
  it('an alive with Port 0 does not create a member that can never be probed', async () => {
    const [m] = await startCluster(set, 1, 'port0-');
    await sendUdp(
      m.boundPort,
      encodeAlive({
        incarnation: 1,
        node: 'ghost',
        addr: Buffer.from(LOCAL),
        port: 0,
        meta: Buffer.alloc(0),
        vsn: [1, 5, 2, 0, 0, 0],
      }),
    );
    await waitFor(
      () => stateOf(m, 'ghost') !== undefined,
      2000,
      () => m.describe(),
    );
    const ghost = m.allNodes().find((n) => n.name === 'ghost')!;
    assert.notEqual(ghost.port, 0, 'port 0 is replaced by the local bind port');
    // Nothing answers for 'ghost', so it must eventually be declared dead.
    await waitFor(
      () => stateOf(m, 'ghost') === NodeStateType.Dead,
      10_000,
      () => m.describe(),
    );
  });
});

describe('cluster (MemoryNetwork partition and heal)', function () {
  this.timeout(30_000);
  const set = new NodeSet();
  afterEach(() => set.shutdownAll());

  it('a cluster cut in two halves marks the other half dead, then converges after healing and a join', async () => {
    const network = new MemoryNetwork();
    const count = 8;
    const host = (i: number) => `10.0.0.${i + 1}`;
    const nodes: Memberlist[] = [];
    for (let i = 0; i < count; i++) {
      nodes.push(await set.start(fastConfig(`mem-${i}`, { bindAddr: host(i), transport: network.transport(host(i)) })));
    }
    for (const m of nodes.slice(1)) await m.join([addressOf(nodes[0], host(0))]);
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
    for (const m of nodes) for (const n of m.members()) assert.match(n.addr, /^10\.0\.0\.\d$/);

    // Hosts 10.0.0.1-4 on one side, 10.0.0.5-8 on the other.
    const side = (endpoint: string) => (Number(endpoint.split(':')[0].split('.')[3]) <= count / 2 ? 0 : 1);
    network.dropPacket = (from, to) => side(from) !== side(to);
    network.allowStream = (from, to) => side(from) === side(to);
    const left = nodes.slice(0, count / 2);
    const right = nodes.slice(count / 2);
    const names = (ms: Memberlist[]) => ms.map((m) => m.config.name);
    await waitFor(
      () =>
        left.every((m) => names(right).every((n) => stateOf(m, n) === NodeStateType.Dead)) &&
        right.every((m) => names(left).every((n) => stateOf(m, n) === NodeStateType.Dead)),
      12_000,
      () => describeViews(nodes),
    );
    assert.ok(converged(left));
    assert.ok(converged(right));

    // Heal, and have one side join the other again.
    network.dropPacket = () => false;
    network.allowStream = () => true;
    assert.equal(await left[0].join([addressOf(right[0], host(count / 2))]), 1);
    await waitFor(
      () => converged(nodes),
      10_000,
      () => describeViews(nodes),
    );
  });

  it('a broken path between two nodes only: indirect probes keep it alive, the ping delegate hears of the failed direct probe', async () => {
    const network = new MemoryNetwork();
    const host = (i: number) => `10.2.0.${i + 1}`;
    const failed: string[] = [];
    const nodes: Memberlist[] = [];
    for (let i = 0; i < 3; i++) {
      const ping: PingDelegate = {
        ackPayload: () => Buffer.alloc(0),
        notifyPingComplete: () => undefined,
        notifyPingFailed: (other) => failed.push(`${i}->${other.name}`),
      };
      nodes.push(
        await set.start(fastConfig(`path-${i}`, { bindAddr: host(i), transport: network.transport(host(i)), ping })),
      );
    }
    for (const m of nodes.slice(1)) await m.join([addressOf(nodes[0], host(0))]);
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
    assert.equal(failed.length, 0, 'no direct probe fails on a whole network');
    // Nothing passes between 10.2.0.1 and 10.2.0.3; 10.2.0.2 reaches both.
    const cut = (a: string, b: string) => [a, b].sort().join() === `${host(0)},${host(2)}`;
    const hostOf = (endpoint: string) => endpoint.split(':')[0];
    network.dropPacket = (from, to) => cut(hostOf(from), hostOf(to));
    network.allowStream = (from, to) => !cut(hostOf(from), hostOf(to));
    await waitFor(
      () => failed.includes('0->path-2'),
      8000,
      () => JSON.stringify(failed),
    );
    await sleep(1000);
    assert.equal(stateOf(nodes[0], 'path-2'), NodeStateType.Alive, 'indirect probes through path-1 still reach it');
    assert.ok(
      failed.every((f) => f === '0->path-2' || f === '2->path-0'),
      JSON.stringify(failed),
    );
  });

  it('packet loss alone (30%) does not kill anyone', async () => {
    const network = new MemoryNetwork();
    const nodes: Memberlist[] = [];
    for (let i = 0; i < 6; i++) {
      nodes.push(
        await set.start(
          fastConfig(`loss-${i}`, {
            bindAddr: `10.1.0.${i + 1}`,
            transport: network.transport(`10.1.0.${i + 1}`),
            probeTimeoutMs: 150,
            probeIntervalMs: 300,
          }),
        ),
      );
    }
    for (const m of nodes.slice(1)) await m.join([addressOf(nodes[0], '10.1.0.1')]);
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
    const rand = prng(12345);
    network.dropPacket = () => rand() < 0.3;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      for (const m of nodes) {
        for (const n of m.allNodes())
          assert.notEqual(n.state, NodeStateType.Dead, `${m.config.name} thinks ${n.name} is dead: ${m.describe()}`);
      }
      await sleep(100);
    }
    network.dropPacket = () => false;
    await waitFor(
      () => converged(nodes),
      8000,
      () => describeViews(nodes),
    );
  });
});
