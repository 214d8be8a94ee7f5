import * as os from 'node:os';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { Awareness } from './awareness';
import { TransmitLimitedQueue } from './broadcast-queue';
import type { Config } from './config';
import {
  Alive, Dead, DecodeError, MessageType, NodeStateType, PushNodeState, Suspect, decodeAck, decodeAlive, decodeErr, decodeIndirectPing,
  decodeNack, decodePing, decodeSuspectOrDead, encodeAck, encodeAlive, encodeDead, encodeErr, encodeIndirectPing, encodeNack,
  encodePing, encodeSuspect, parseBody,
} from './messages';
import { Node, addrToBytes, addrToString, makeVsn, sameAddr, stateName } from './node';
import { MAX_COMPOUND_PARTS, PacketSecurity, decompressMessage, makeCompound, openPacket, sealPacket, splitCompound } from './packet';
import { decodePushPull, decodeUserStream, encodePushPull, encodeUserStream, readStreamMessage, sealStream } from './stream';
import { Suspicion, suspicionTimeoutMs } from './suspicion';
import { NetTransport, Transport } from './transport';

export const META_MAX_SIZE = 512;
const COMPOUND_HEADER_OVERHEAD = 2;
const COMPOUND_OVERHEAD = 2;
const USER_MSG_OVERHEAD = 1;
const ENCRYPTION_OVERHEAD = 45;
const MAX_CONCURRENT_PUSH_PULLS = 128;
// A compound inside a compressed compound inside...: no legitimate packet nests deeper.
const MAX_NESTING = 4;

interface NodeRecord {
  name: string;
  addr: Buffer;
  port: number;
  meta: Buffer;
  incarnation: number;
  state: NodeStateType;
  stateChange: number;
  vsn: number[];
  suspicion?: Suspicion;
}

interface AckHandler {
  onAck(payload: Buffer | null): void;
  onNack(): void;
}

export class MemberlistError extends Error {
  override readonly name = 'MemberlistError';
}

// A SWIM (with Lifeguard) cluster member speaking HashiCorp memberlist's wire protocol.
export class Memberlist {
  private readonly nodes: NodeRecord[] = [];
  private readonly nodeMap = new Map<string, NodeRecord>();
  private readonly broadcasts: TransmitLimitedQueue;
  private readonly awareness: Awareness;
  private readonly ackHandlers = new Map<number, AckHandler>();
  private readonly transport: Transport;
  private readonly timers = new Set<NodeJS.Timeout>();
  private seqNo = 0;
  private probeIndex = 0;
  private pushPullsInFlight = 0;
  private leaving = false;
  private stopped = false;
  private port = 0;
  private advertise: { addr: Buffer; port: number } = { addr: Buffer.alloc(4), port: 0 };
  private readonly log: Config['logger'];

  private constructor(readonly config: Config) {
    this.log = config.logger;
    this.transport = config.transport ?? new NetTransport(config.bindAddr, config.bindPort);
    this.broadcasts = new TransmitLimitedQueue(config.retransmitMult, () => this.nodes.length);
    this.awareness = new Awareness(config.awarenessMaxMultiplier);
  }

  static async create(config: Config): Promise<Memberlist> {
    if (config.protocolVersion < 1 || config.protocolVersion > 5) throw new MemberlistError(`protocol version ${config.protocolVersion} is outside 1..5`);
    const m = new Memberlist(config);
    m.port = await m.transport.listen(
      (packet, host, port) => m.ingestPacket(packet, host, port),
      (stream, host) => void m.handleStream(stream, host),
    );
    m.advertise = { addr: addrToBytes(m.advertiseHost()), port: config.advertisePort ?? m.port };
    const meta = m.localMeta();
    m.aliveNode({ incarnation: 1, node: config.name, addr: m.advertise.addr, port: m.advertise.port, meta, vsn: m.vsn() }, true);
    m.schedule();
    return m;
  }

  // Public API.

  get localNode(): Node {
    return this.toNode(this.nodeMap.get(this.config.name)!);
  }

  get boundPort(): number {
    return this.port;
  }

  // Nodes that are alive or suspect, ourselves included.
  members(): Node[] {
    return this.nodes.filter((n) => n.state === NodeStateType.Alive || n.state === NodeStateType.Suspect).map((n) => this.toNode(n));
  }

  // Every node we know of, in any state.
  allNodes(): Node[] {
    return this.nodes.map((n) => this.toNode(n));
  }

  numMembers(): number {
    return this.members().length;
  }

  // 0 is healthy; higher means this node is probably the slow one (Lifeguard).
  healthScore(): number {
    return this.awareness.score;
  }

  // Push/pulls with each address (host, host:port or name/host:port) as a join. Resolves with the
  // number reached; rejects if none could be.
  async join(addresses: string[]): Promise<number> {
    let joined = 0;
    const errors: string[] = [];
    for (const address of addresses) {
      const { host, port } = this.parseAddress(address);
      try {
        await this.pushPullNode(host, port, true);
        joined++;
      } catch (err) {
        errors.push(`${address}: ${(err as Error).message}`);
      }
    }
    if (joined === 0 && addresses.length > 0) throw new MemberlistError(`could not join any of ${addresses.join(', ')}: ${errors.join('; ')}`);
    return joined;
  }

  // Broadcasts our departure and waits until it has been sent enough times (or the timeout).
  async leave(timeoutMs: number): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    const self = this.nodeMap.get(this.config.name)!;
    const others = this.nodes.some((n) => n.name !== this.config.name && n.state !== NodeStateType.Dead && n.state !== NodeStateType.Left);
    const sent = new Promise<void>((resolve) => {
      this.deadNode({ incarnation: self.incarnation, node: self.name, from: self.name }, resolve);
    });
    if (others) await Promise.race([sent, this.sleep(timeoutMs)]);
    // Keep answering probes a moment so the leave wins over any suspicion in flight.
    if (others) await this.sleep(this.config.leavePropagateDelayMs);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const n of this.nodes) n.suspicion?.stop();
    this.ackHandlers.clear();
    this.broadcasts.reset();
    await this.transport.close();
  }

  // Re-reads the delegate's meta and advertises it with a new incarnation.
  async updateNode(timeoutMs: number): Promise<void> {
    const self = this.nodeMap.get(this.config.name)!;
    const meta = this.localMeta();
    const incarnation = self.incarnation + 1;
    const done = new Promise<void>((resolve) => {
      this.aliveNode({ incarnation, node: self.name, addr: this.advertise.addr, port: this.advertise.port, meta, vsn: this.vsn() }, true, resolve);
    });
    if (this.nodes.length > 1) await Promise.race([done, this.sleep(timeoutMs)]);
  }

  // A user message in one UDP packet (piggybacking broadcasts).
  sendBestEffort(to: string, payload: Buffer): void {
    const node = this.nodeMap.get(to);
    if (!node) throw new MemberlistError(`unknown node ${to}`);
    this.sendMsg(node, Buffer.concat([Buffer.from([MessageType.User]), payload]));
  }

  // A user message over TCP: any size up to 20 MiB.
  async sendReliable(to: string, payload: Buffer): Promise<void> {
    const node = this.nodeMap.get(to);
    if (!node) throw new MemberlistError(`unknown node ${to}`);
    const stream = await this.transport.dial(addrToString(node.addr), node.port, this.config.tcpTimeoutMs);
    try {
      await this.writeStream(stream, encodeUserStream(payload));
    } finally {
      stream.end();
    }
  }

  // Internals: scheduling.

  private schedule(): void {
    const every = (ms: () => number, fn: () => void | Promise<void>, stagger = false) => {
      const run = () => {
        if (this.stopped) return;
        const t = setTimeout(async () => {
          this.timers.delete(t);
          try {
            await fn();
          } catch (err) {
            this.log.warn('periodic task failed', { error: (err as Error).message });
          }
          run();
        }, ms());
        this.timers.add(t);
      };
      if (stagger) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          run();
        }, Math.random() * ms());
        this.timers.add(t);
      } else run();
    };
    every(() => this.awareness.scale(this.config.probeIntervalMs), () => this.probe());
    every(() => this.config.gossipIntervalMs, () => this.gossip());
    if (this.config.pushPullIntervalMs > 0) every(() => this.pushPullInterval(), () => this.periodicPushPull(), true);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private pushPullInterval(): number {
    const n = this.nodes.length;
    const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
    return this.config.pushPullIntervalMs * scale;
  }

  // Internals: identity.

  private advertiseHost(): string {
    if (this.config.advertiseAddr) return this.config.advertiseAddr;
    if (this.config.bindAddr !== '0.0.0.0' && this.config.bindAddr !== '::') return this.config.bindAddr;
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
    return '127.0.0.1';
  }

  private vsn(): number[] {
    const c = this.config;
    return makeVsn(c.protocolVersion, c.delegateProtocolMin, c.delegateProtocolMax, c.delegateProtocolVersion);
  }

  private localMeta(): Buffer {
    const meta = this.config.delegate?.nodeMeta(META_MAX_SIZE) ?? Buffer.alloc(0);
    if (meta.length > META_MAX_SIZE) throw new MemberlistError(`node meta is ${meta.length} bytes; the limit is ${META_MAX_SIZE}`);
    return meta;
  }

  private get security(): PacketSecurity {
    return { keyring: this.config.gossipVerifyOutgoing ? this.config.keyring : undefined, encryptionVersion: this.config.protocolVersion < 2 ? 0 : 1, verifyIncoming: this.config.gossipVerifyIncoming };
  }

  private get incomingSecurity(): PacketSecurity {
    return { keyring: this.config.keyring, encryptionVersion: this.config.protocolVersion < 2 ? 0 : 1, verifyIncoming: this.config.gossipVerifyIncoming };
  }

  private toNode(n: NodeRecord): Node {
    return { name: n.name, addr: addrToString(n.addr), port: n.port, meta: n.meta, state: n.state, incarnation: n.incarnation, vsn: [...n.vsn] };
  }

  private parseAddress(address: string): { host: string; port: number } {
    const withoutName = address.includes('/') ? address.slice(address.indexOf('/') + 1) : address;
    if (isIP(withoutName)) return { host: withoutName, port: this.port };
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(withoutName);
    if (!m) throw new MemberlistError(`cannot parse address "${address}"`);
    return { host: m[1], port: m[2] ? Number(m[2]) : this.port };
  }

  // Internals: sending packets.

  private nextSeq(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  private packetBudget(): number {
    return this.config.udpBufferSize - (this.config.keyring ? ENCRYPTION_OVERHEAD : 0);
  }

  // Our broadcasts first, then the application's, each fitting the byte budget.
  private takeBroadcasts(overhead: number, limit: number): Buffer[] {
    const ours = this.broadcasts.take(overhead, limit);
    let used = ours.reduce((sum, b) => sum + overhead + b.length, 0);
    const remaining = limit - used;
    const delegate = this.config.delegate;
    if (!delegate || remaining <= overhead + USER_MSG_OVERHEAD) return ours;
    const user = delegate.getBroadcasts(overhead + USER_MSG_OVERHEAD, remaining).filter((b) => b.length > 0);
    const out = [...ours];
    for (const b of user) {
      if (used + overhead + USER_MSG_OVERHEAD + b.length > limit) break;
      used += overhead + USER_MSG_OVERHEAD + b.length;
      out.push(Buffer.concat([Buffer.from([MessageType.User]), b]));
    }
    return out;
  }

  private sendMsg(node: NodeRecord, message: Buffer): void {
    const budget = this.packetBudget() - message.length - COMPOUND_HEADER_OVERHEAD;
    const extra = budget > COMPOUND_OVERHEAD ? this.takeBroadcasts(COMPOUND_OVERHEAD, budget) : [];
    const packet = extra.length === 0 ? message : makeCompound([message, ...extra.slice(0, MAX_COMPOUND_PARTS - 1)]);
    this.sendRaw(addrToString(node.addr), node.port, packet, (node.vsn[1] ?? 0) >= 5);
  }

  private sendToAddress(host: string, port: number, message: Buffer): void {
    const known = this.nodes.find((n) => addrToString(n.addr) === host && n.port === port);
    if (known) this.sendMsg(known, message);
    else this.sendRaw(host, port, message, false);
  }

  private sendRaw(host: string, port: number, message: Buffer, crc: boolean): void {
    if (this.stopped || message.length === 0) return;
    this.transport.sendPacket(sealPacket(message, { compress: this.config.enableCompression, crc, security: this.security }), host, port);
  }

  // Internals: receiving packets.

  private ingestPacket(packet: Buffer, host: string, port: number): void {
    if (this.stopped) return;
    let message: Buffer;
    try {
      message = openPacket(packet, this.incomingSecurity);
    } catch (err) {
      this.log.debug('dropped packet', { from: `${host}:${port}`, error: (err as Error).message });
      return;
    }
    try {
      this.handleCommand(message, host, port, 0);
    } catch (err) {
      this.log.debug('dropped malformed message', { from: `${host}:${port}`, error: (err as Error).message });
    }
  }

  private handleCommand(buf: Buffer, host: string, port: number, depth: number): void {
    if (buf.length === 0) return;
    if (depth > MAX_NESTING) throw new DecodeError('messages nested too deeply');
    const body = buf.subarray(1);
    switch (buf[0] as MessageType) {
      case MessageType.Compound: {
        const { parts, truncated } = splitCompound(body);
        if (truncated > 0) this.log.debug('compound message truncated', { from: host, dropped: truncated });
        for (const part of parts) {
          try {
            this.handleCommand(part, host, port, depth + 1);
          } catch (err) {
            this.log.debug('dropped malformed compound part', { from: host, error: (err as Error).message });
          }
        }
        return;
      }
      case MessageType.Compress:
        return this.handleCommand(decompressMessage(body), host, port, depth + 1);
      case MessageType.Ping:
        return this.handlePing(decodePing(parseBody(body)), host, port);
      case MessageType.IndirectPing:
        return this.handleIndirectPing(decodeIndirectPing(parseBody(body)), host, port);
      case MessageType.Ack: {
        const ack = decodeAck(parseBody(body));
        this.ackHandlers.get(ack.seqNo)?.onAck(ack.payload);
        return;
      }
      case MessageType.Nack:
        this.ackHandlers.get(decodeNack(parseBody(body)).seqNo)?.onNack();
        return;
      case MessageType.Suspect:
        return this.suspectNode(decodeSuspectOrDead(parseBody(body)));
      case MessageType.Alive:
        return this.aliveNode(decodeAlive(parseBody(body)), false);
      case MessageType.Dead:
        return this.deadNode(decodeSuspectOrDead(parseBody(body)));
      case MessageType.User:
        if (body.length > 0) this.config.delegate?.notifyMsg(Buffer.from(body));
        return;
      default:
        throw new DecodeError(`message type ${buf[0]} is not handled over UDP`);
    }
  }

  private handlePing(ping: ReturnType<typeof decodePing>, host: string, port: number): void {
    if (ping.node !== '' && ping.node !== this.config.name) {
      this.log.debug('ignored a ping meant for another node', { node: ping.node, from: host });
      return;
    }
    const payload = this.config.ping?.ackPayload() ?? null;
    const ack = encodeAck({ seqNo: ping.seqNo, payload: payload && payload.length > 0 ? payload : null });
    if (ping.sourceAddr && ping.sourceAddr.length > 0 && ping.sourcePort) this.sendToAddress(addrToString(ping.sourceAddr), ping.sourcePort, ack);
    else this.sendToAddress(host, port, ack);
  }

  private handleIndirectPing(req: ReturnType<typeof decodeIndirectPing>, host: string, port: number): void {
    const replyHost = req.sourceAddr && req.sourceAddr.length > 0 ? addrToString(req.sourceAddr) : host;
    const replyPort = req.sourcePort || port;
    const seq = this.nextSeq();
    let answered = false;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ackHandlers.delete(seq);
      if (!answered && req.nack) this.sendToAddress(replyHost, replyPort, encodeNack({ seqNo: req.seqNo }));
    }, this.config.probeTimeoutMs);
    this.timers.add(timer);
    this.ackHandlers.set(seq, {
      onAck: () => {
        answered = true;
        this.ackHandlers.delete(seq);
        this.sendToAddress(replyHost, replyPort, encodeAck({ seqNo: req.seqNo, payload: null }));
      },
      onNack: () => undefined,
    });
    this.sendToAddress(addrToString(req.target), req.port, this.pingMessage(seq, req.node));
  }

  private pingMessage(seq: number, node: string): Buffer {
    return encodePing({ seqNo: seq, node, sourceAddr: this.advertise.addr, sourcePort: this.advertise.port, sourceNode: this.config.name });
  }

  // Internals: failure detection.

  private nextProbeTarget(): NodeRecord | undefined {
    for (let checked = 0; checked <= this.nodes.length; checked++) {
      if (this.probeIndex >= this.nodes.length) {
        this.resetProbeOrder();
        continue;
      }
      const n = this.nodes[this.probeIndex++];
      if (n.name === this.config.name || n.state === NodeStateType.Dead || n.state === NodeStateType.Left) continue;
      return n;
    }
    return undefined;
  }

  // A full round: drop dead nodes past gossip-to-the-dead time, reshuffle.
  private resetProbeOrder(): void {
    const cutoff = Date.now() - this.config.gossipToTheDeadTimeMs;
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.state === NodeStateType.Dead && n.stateChange < cutoff && n.name !== this.config.name) {
        this.nodes.splice(i, 1);
        this.nodeMap.delete(n.name);
      }
    }
    for (let i = this.nodes.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [this.nodes[i], this.nodes[j]] = [this.nodes[j], this.nodes[i]];
    }
    this.probeIndex = 0;
  }

  private async probe(): Promise<void> {
    const target = this.nextProbeTarget();
    if (!target) return;
    const seq = this.nextSeq();
    const sent = Date.now();
    const deadline = sent + this.awareness.scale(this.config.probeIntervalMs);
    let acked = false;
    let nacks = 0;
    let wake: (() => void) | undefined;
    this.ackHandlers.set(seq, {
      onAck: (payload) => {
        if (acked) return;
        acked = true;
        this.config.ping?.notifyPingComplete(this.toNode(target), Date.now() - sent, payload ?? Buffer.alloc(0));
        wake?.();
      },
      onNack: () => {
        nacks++;
      },
    });
    const waitUntil = (until: number) =>
      new Promise<void>((resolve) => {
        if (acked) return resolve();
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, Math.max(0, until - Date.now()));
        this.timers.add(t);
        wake = () => {
          clearTimeout(t);
          this.timers.delete(t);
          resolve();
        };
      });
    try {
      const ping = this.pingMessage(seq, target.name);
      // A suspect gets the accusation along with the ping, to refute it.
      if (target.state === NodeStateType.Suspect) {
        this.sendMsg(target, makeCompound([ping, encodeSuspect({ incarnation: target.incarnation, node: target.name, from: this.config.name })]));
      } else this.sendMsg(target, ping);
      await waitUntil(sent + this.config.probeTimeoutMs);
      if (acked) {
        this.awareness.apply(-1);
        return;
      }
      const helpers = this.randomNodes(this.config.indirectChecks, (n) => n.name !== target.name && n.state === NodeStateType.Alive);
      let expectedNacks = 0;
      for (const h of helpers) {
        const nack = (h.vsn[1] ?? 0) >= 4;
        if (nack) expectedNacks++;
        this.sendMsg(h, encodeIndirectPing({
          seqNo: seq, target: target.addr, port: target.port, node: target.name, nack,
          sourceAddr: this.advertise.addr, sourcePort: this.advertise.port, sourceNode: this.config.name,
        }));
      }
      if (!this.config.disableTcpPings && (target.vsn[1] ?? 0) >= 3) {
        void this.tcpPing(target, seq, deadline).then((ok) => {
          if (ok) this.ackHandlers.get(seq)?.onAck(null);
        });
      }
      await waitUntil(deadline);
      if (acked) return;
      this.awareness.apply(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
      this.log.info('suspecting an unresponsive node', { node: target.name });
      this.suspectNode({ incarnation: target.incarnation, node: target.name, from: this.config.name });
    } finally {
      this.ackHandlers.delete(seq);
    }
  }

  private async tcpPing(target: NodeRecord, seq: number, deadline: number): Promise<boolean> {
    try {
      const stream = await this.transport.dial(addrToString(target.addr), target.port, Math.max(1, deadline - Date.now()));
      try {
        await this.writeStream(stream, this.pingMessage(seq, target.name));
        const reply = await this.readStream(stream, Math.max(1, deadline - Date.now()));
        if (reply[0] !== MessageType.Ack) return false;
        return decodeAck(parseBody(reply.subarray(1))).seqNo === seq;
      } finally {
        stream.destroy();
      }
    } catch {
      return false;
    }
  }

  private randomNodes(k: number, accept: (n: NodeRecord) => boolean): NodeRecord[] {
    const candidates = this.nodes.filter((n) => n.name !== this.config.name && accept(n));
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
    }
    return candidates.slice(0, k);
  }

  private gossip(): void {
    const cutoff = Date.now() - this.config.gossipToTheDeadTimeMs;
    const targets = this.randomNodes(this.config.gossipNodes, (n) =>
      n.state === NodeStateType.Alive || n.state === NodeStateType.Suspect || (n.state === NodeStateType.Dead && n.stateChange > cutoff),
    );
    for (const node of targets) {
      const messages = this.takeBroadcasts(COMPOUND_OVERHEAD, this.packetBudget() - COMPOUND_HEADER_OVERHEAD);
      if (messages.length === 0) return;
      const packet = messages.length === 1 ? messages[0] : makeCompound(messages.slice(0, MAX_COMPOUND_PARTS));
      this.sendRaw(addrToString(node.addr), node.port, packet, (node.vsn[1] ?? 0) >= 5);
    }
  }

  // Internals: state transitions (memberlist's aliveNode / suspectNode / deadNode).

  private broadcast(name: string, message: Buffer, finished?: () => void): void {
    this.broadcasts.queue({ name, message, finished });
  }

  private aliveNode(a: Alive, bootstrap: boolean, finished?: () => void): void {
    const isLocal = a.node === this.config.name;
    if (this.leaving && isLocal) return;
    if (a.node === '') return;
    if (a.vsn.length > 0 && a.vsn.length !== 6) {
      this.log.warn('ignored an alive message with a malformed version vector', { node: a.node, length: a.vsn.length });
      return;
    }
    if (a.vsn.length === 6 && (a.vsn[0] === 0 || a.vsn[1] === 0 || a.vsn[0] > a.vsn[1])) {
      this.log.warn('ignored an alive message with an invalid protocol range', { node: a.node, vsn: a.vsn });
      return;
    }
    if (a.addr.length !== 4 && a.addr.length !== 16) {
      this.log.warn('ignored an alive message with a malformed address', { node: a.node });
      return;
    }
    if (!isLocal && this.config.alive) {
      try {
        this.config.alive.notifyAlive({ name: a.node, addr: addrToString(a.addr), port: a.port, meta: a.meta, state: NodeStateType.Alive, incarnation: a.incarnation, vsn: [...a.vsn] });
      } catch (err) {
        this.log.warn('alive message vetoed', { node: a.node, error: (err as Error).message });
        return;
      }
    }
    let state = this.nodeMap.get(a.node);
    let updatesNode = false;
    if (!state) {
      state = { name: a.node, addr: a.addr, port: a.port, meta: a.meta, incarnation: 0, state: NodeStateType.Dead, stateChange: Date.now(), vsn: [...a.vsn] };
      this.nodeMap.set(a.node, state);
      // A random position keeps probe order fair for nodes that join together.
      this.nodes.splice(Math.floor(Math.random() * (this.nodes.length + 1)), 0, state);
    } else if (!sameAddr(state.addr, a.addr) || state.port !== a.port) {
      const reclaim = this.config.deadNodeReclaimTimeMs > 0 && Date.now() - state.stateChange > this.config.deadNodeReclaimTimeMs;
      if (state.state === NodeStateType.Left || (state.state === NodeStateType.Dead && reclaim)) {
        updatesNode = true;
      } else {
        this.log.warn('conflicting address for a node name', { node: a.node, known: `${addrToString(state.addr)}:${state.port}`, claimed: `${addrToString(a.addr)}:${a.port}` });
        this.config.conflict?.notifyConflict(this.toNode(state), { ...this.toNode(state), addr: addrToString(a.addr), port: a.port, meta: a.meta });
        return;
      }
    }
    if (a.incarnation <= state.incarnation && !isLocal && !updatesNode) return;
    if (a.incarnation < state.incarnation && isLocal) return;
    state.suspicion?.stop();
    state.suspicion = undefined;
    const oldState = state.state;
    const oldMeta = state.meta;
    if (!bootstrap && isLocal) {
      const ours = this.vsn();
      if (a.incarnation === state.incarnation && a.meta.equals(state.meta) && Buffer.from(a.vsn).equals(Buffer.from(ours))) return;
      this.refute(state, a.incarnation);
      this.log.warn('refuting an alive message about us', { incarnation: a.incarnation });
    } else {
      this.broadcast(a.node, encodeAlive(a), finished);
      if (a.vsn.length > 0) state.vsn = [...a.vsn];
      state.incarnation = a.incarnation;
      state.meta = a.meta;
      state.addr = a.addr;
      state.port = a.port;
      if (state.state !== NodeStateType.Alive) {
        state.state = NodeStateType.Alive;
        state.stateChange = Date.now();
      }
    }
    const events = this.config.events;
    if (!events) return;
    if (oldState === NodeStateType.Dead || oldState === NodeStateType.Left) events.notifyJoin(this.toNode(state));
    else if (!oldMeta.equals(state.meta)) events.notifyUpdate(this.toNode(state));
  }

  private refute(self: NodeRecord, accused: number): void {
    self.incarnation = Math.max(self.incarnation + 1, accused + 1);
    this.awareness.apply(1);
    const alive: Alive = { incarnation: self.incarnation, node: self.name, addr: this.advertise.addr, port: this.advertise.port, meta: self.meta, vsn: this.vsn() };
    this.broadcast(self.name, encodeAlive(alive));
  }

  private suspectNode(s: Suspect): void {
    const state = this.nodeMap.get(s.node);
    if (!state || s.incarnation < state.incarnation) return;
    if (state.suspicion) {
      if (state.suspicion.confirm(s.from)) this.broadcast(s.node, encodeSuspect(s));
      return;
    }
    if (state.state !== NodeStateType.Alive) return;
    if (s.node === this.config.name) {
      if (!this.leaving) this.refute(state, s.incarnation);
      return;
    }
    this.broadcast(s.node, encodeSuspect(s));
    state.incarnation = s.incarnation;
    state.state = NodeStateType.Suspect;
    const changedAt = Date.now();
    state.stateChange = changedAt;
    const n = this.nodes.filter((x) => x.state !== NodeStateType.Dead && x.state !== NodeStateType.Left).length;
    let k = this.config.suspicionMult - 2;
    if (n - 2 < k) k = 0;
    const min = suspicionTimeoutMs(this.config.suspicionMult, n, this.config.probeIntervalMs);
    const max = this.config.suspicionMaxTimeoutMult * min;
    state.suspicion = new Suspicion(s.from, k, min, max, (confirmations) => {
      if (this.stopped || state.state !== NodeStateType.Suspect || state.stateChange !== changedAt) return;
      this.log.info('marking a suspect node dead', { node: state.name, confirmations });
      this.deadNode({ incarnation: state.incarnation, node: state.name, from: this.config.name });
    });
  }

  private deadNode(d: Dead, finished?: () => void): void {
    const state = this.nodeMap.get(d.node);
    if (!state || d.incarnation < state.incarnation) {
      finished?.();
      return;
    }
    state.suspicion?.stop();
    state.suspicion = undefined;
    if (state.state === NodeStateType.Dead || state.state === NodeStateType.Left) {
      finished?.();
      return;
    }
    if (d.node === this.config.name && !this.leaving) {
      this.refute(state, d.incarnation);
      return;
    }
    this.broadcast(d.node, encodeDead(d), finished);
    state.incarnation = d.incarnation;
    state.state = d.node === d.from ? NodeStateType.Left : NodeStateType.Dead;
    state.stateChange = Date.now();
    this.config.events?.notifyLeave(this.toNode(state));
  }

  // Internals: push/pull and streams.

  private localStates(): PushNodeState[] {
    return this.nodes.map((n) => ({ name: n.name, addr: n.addr, port: n.port, meta: n.meta, incarnation: n.incarnation, state: n.state, vsn: n.vsn.length === 6 ? n.vsn : this.vsn() }));
  }

  private async periodicPushPull(): Promise<void> {
    const [peer] = this.randomNodes(1, (n) => n.state === NodeStateType.Alive);
    if (!peer) return;
    try {
      await this.pushPullNode(addrToString(peer.addr), peer.port, false);
    } catch (err) {
      this.log.debug('push/pull failed', { node: peer.name, error: (err as Error).message });
    }
  }

  private ourPushPull(join: boolean): Buffer {
    const userState = this.config.delegate?.localState(join) ?? Buffer.alloc(0);
    return encodePushPull(join, this.localStates(), userState);
  }

  private async pushPullNode(host: string, port: number, join: boolean): Promise<void> {
    const stream = await this.transport.dial(host, port, this.config.tcpTimeoutMs);
    try {
      await this.writeStream(stream, this.ourPushPull(join));
      const reply = await this.readStream(stream, this.config.tcpTimeoutMs);
      if (reply[0] === MessageType.Err) throw new MemberlistError(`remote error: ${decodeErr(parseBody(reply.subarray(1)))}`);
      if (reply[0] !== MessageType.PushPull) throw new MemberlistError(`expected a push/pull reply, got message type ${reply[0]}`);
      this.mergeRemote(decodePushPull(reply), join);
    } finally {
      stream.destroy();
    }
  }

  private mergeRemote(remote: ReturnType<typeof decodePushPull>, join: boolean): void {
    this.verifyProtocol(remote.states);
    if (this.config.merge) {
      this.config.merge.notifyMerge(remote.states.map((s) => ({ name: s.name, addr: addrToString(s.addr), port: s.port, meta: s.meta, state: s.state, incarnation: s.incarnation, vsn: s.vsn })));
    }
    for (const s of remote.states) {
      switch (s.state) {
        case NodeStateType.Alive:
          this.aliveNode({ incarnation: s.incarnation, node: s.name, addr: s.addr, port: s.port, meta: s.meta, vsn: s.vsn }, false);
          break;
        case NodeStateType.Left:
          this.deadNode({ incarnation: s.incarnation, node: s.name, from: s.name });
          break;
        default:
          // A remote "dead" is not trusted directly: it only makes the node suspect here.
          this.suspectNode({ incarnation: s.incarnation, node: s.name, from: this.config.name });
      }
    }
    if (remote.userState.length > 0) this.config.delegate?.mergeRemoteState(remote.userState, join);
  }

  // memberlist's verifyProtocol: every node's current versions must be inside the range all alive
  // nodes support, or the merge is refused.
  private verifyProtocol(remote: PushNodeState[]): void {
    const alive = [
      ...this.nodes.filter((n) => n.state === NodeStateType.Alive && n.vsn.length === 6).map((n) => n.vsn),
      ...remote.filter((s) => s.state === NodeStateType.Alive && s.vsn.length === 6).map((s) => s.vsn),
    ];
    if (alive.length === 0) return;
    const maxPMin = Math.max(...alive.map((v) => v[0]));
    const minPMax = Math.min(...alive.map((v) => v[1]));
    const maxDMin = Math.max(...alive.map((v) => v[3]));
    const minDMax = Math.min(...alive.map((v) => v[4]));
    const all: Array<[string, number[]]> = [...this.nodes.map((n): [string, number[]] => [n.name, n.vsn]), ...remote.map((s): [string, number[]] => [s.name, s.vsn])];
    for (const [name, v] of all) {
      const pcur = v.length === 6 ? v[2] : 0;
      const dcur = v.length === 6 ? v[5] : 0;
      if (pcur < maxPMin || pcur > minPMax) throw new MemberlistError(`node '${name}' protocol version (${pcur}) is incompatible: [${maxPMin}, ${minPMax}]`);
      if (dcur < maxDMin || dcur > minDMax) throw new MemberlistError(`node '${name}' delegate protocol version (${dcur}) is incompatible: [${maxDMin}, ${minDMax}]`);
    }
  }

  private async handleStream(stream: Duplex, host: string): Promise<void> {
    let message: Buffer;
    try {
      message = await this.readStream(stream, this.config.tcpTimeoutMs);
    } catch (err) {
      this.log.debug('failed to read a stream', { from: host, error: (err as Error).message });
      await this.writeStream(stream, encodeErr((err as Error).message)).catch(() => undefined);
      stream.destroy();
      return;
    }
    try {
      switch (message[0] as MessageType) {
        case MessageType.PushPull: {
          if (this.pushPullsInFlight >= MAX_CONCURRENT_PUSH_PULLS) {
            this.log.warn('too many push/pulls in progress; closing a connection', { from: host });
            return;
          }
          this.pushPullsInFlight++;
          try {
            const remote = decodePushPull(message);
            await this.writeStream(stream, this.ourPushPull(remote.header.join));
            this.log.debug('answered a push/pull', { from: host, join: remote.header.join, nodes: remote.states.length });
            this.mergeRemote(remote, remote.header.join);
          } finally {
            this.pushPullsInFlight--;
          }
          return;
        }
        case MessageType.Ping: {
          const ping = decodePing(parseBody(message.subarray(1)));
          if (ping.node !== '' && ping.node !== this.config.name) return;
          await this.writeStream(stream, encodeAck({ seqNo: ping.seqNo, payload: null }));
          return;
        }
        case MessageType.User:
          this.config.delegate?.notifyMsg(decodeUserStream(message));
          return;
        default:
          throw new DecodeError(`stream message type ${message[0]} is not handled`);
      }
    } catch (err) {
      this.log.warn('failed to handle a stream', { from: host, error: (err as Error).message });
      await this.writeStream(stream, encodeErr((err as Error).message)).catch(() => undefined);
    } finally {
      stream.end();
    }
  }

  private writeStream(stream: Duplex, plain: Buffer): Promise<void> {
    const data = sealStream(plain, { compress: this.config.enableCompression, security: this.security });
    return new Promise((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve())));
  }

  // Accumulates bytes until one whole message has arrived (no EOF framing).
  private readStream(stream: Duplex, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const finish = (err: Error | undefined, message?: Buffer) => {
        clearTimeout(timer);
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        if (err) reject(err);
        else resolve(message!);
      };
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        try {
          const read = readStreamMessage(buf, this.incomingSecurity);
          if (read) finish(undefined, read.message);
        } catch (err) {
          finish(err as Error);
        }
      };
      const onEnd = () => finish(new DecodeError(`stream ended after ${buf.length} bytes, before a whole message`));
      const onError = (err: Error) => finish(err);
      const timer = setTimeout(() => finish(new MemberlistError(`no complete message within ${timeoutMs} ms`)), timeoutMs);
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
    });
  }

  describe(): string {
    return this.nodes.map((n) => `${n.name}:${stateName(n.state)}@${n.incarnation}`).join(' ');
  }
}
