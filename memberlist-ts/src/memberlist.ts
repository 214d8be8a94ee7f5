import * as os from 'node:os';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { Awareness } from './awareness';
import { TransmitLimitedQueue } from './broadcast-queue';
import type { Config } from './config';
import {
  DecodeError,
  IndirectPing,
  MessageType,
  NodeStateType,
  Ping,
  decodeAck,
  decodeAlive,
  decodeErr,
  decodeIndirectPing,
  decodeNack,
  decodePing,
  decodeSuspectOrDead,
  encodeAck,
  encodeErr,
  encodeIndirectPing,
  encodeNack,
  encodePing,
  encodeSuspect,
  parseBody,
} from './messages';
import { Node, addrToBytes, addrToString, makeVsn, stateName } from './node';
import {
  MAX_COMPOUND_PARTS,
  PacketSecurity,
  decompressMessage,
  makeCompound,
  openPacket,
  sealPacket,
  splitCompound,
} from './packet';
import { MAX_INCARNATION, NodeRecord, NodeStateTable, toNode } from './state';
import {
  MAX_USER_MSG_BYTES,
  PushPull,
  StreamMessageReader,
  decodePushPull,
  decodeUserStream,
  encodePushPull,
  encodeUserStream,
  sealStream,
} from './stream';
import { NetTransport, Transport } from './transport';

export const META_MAX_SIZE = 512;
// Byte budgets as memberlist counts them: a compound costs 2 bytes plus 2 per part, a user
// broadcast 1 byte for its type, encryption up to 45 bytes (version 0 padding included).
const COMPOUND_HEADER_OVERHEAD = 2;
const COMPOUND_OVERHEAD = 2;
const USER_MSG_OVERHEAD = 1;
const ENCRYPTION_OVERHEAD = 45;
const MAX_CONCURRENT_PUSH_PULLS = 128;
// The largest UDP payload; a bigger best-effort message could never leave.
const MAX_UDP_PAYLOAD = 65_507;
// No legitimate packet nests compounds and compression deeper than this.
const MAX_NESTING = 4;

interface AckHandler {
  onAck(payload: Buffer | null): void;
  onNack(): void;
}

export class MemberlistError extends Error {
  override readonly name = 'MemberlistError';
}

// A SWIM (with Lifeguard) cluster member speaking HashiCorp memberlist's wire protocol.
export class Memberlist {
  private readonly table: NodeStateTable;
  private readonly broadcasts: TransmitLimitedQueue;
  private readonly awareness: Awareness;
  private readonly ackHandlers = new Map<number, AckHandler>();
  private readonly transport: Transport;
  private readonly timers = new Set<NodeJS.Timeout>();
  // Resolvers of pending sleeps, so shutdown() never leaves a caller waiting forever.
  private readonly sleepers = new Set<() => void>();
  private seqNo = 0;
  private pushPullsInFlight = 0;
  private leaving = false;
  private stopped = false;
  private port = 0;
  private advertise: { addr: Buffer; port: number } = { addr: Buffer.alloc(4), port: 0 };
  private readonly log: Config['logger'];

  private constructor(readonly config: Config) {
    this.log = config.logger;
    this.transport = config.transport ?? new NetTransport(config.bindAddr, config.bindPort);
    this.broadcasts = new TransmitLimitedQueue(config.retransmitMult, () => this.table.size);
    this.awareness = new Awareness(config.awarenessMaxMultiplier);
    this.table = new NodeStateTable({
      config,
      localVsn: () => this.vsn(),
      advertised: () => this.advertise,
      isLeaving: () => this.leaving,
      broadcast: (name, message, finished) => this.broadcasts.queue({ name, message, finished }),
      onRefute: () => this.awareness.apply(1),
    });
  }

  static async create(config: Config): Promise<Memberlist> {
    if (config.protocolVersion < 1 || config.protocolVersion > 5)
      throw new MemberlistError(`protocol version ${config.protocolVersion} is outside 1..5`);
    if (config.name === '') throw new MemberlistError('a node needs a name');
    const m = new Memberlist(config);
    // Everything that can be refused is checked before a socket is bound.
    const meta = m.localMeta();
    let advertiseAddr: Buffer;
    try {
      advertiseAddr = addrToBytes(m.advertiseHost());
    } catch (err) {
      throw new MemberlistError(`cannot advertise ${m.advertiseHost()}: ${(err as Error).message}`);
    }
    m.port = await m.transport.listen(
      (packet, host, port) => m.ingestPacket(packet, host, port),
      (stream, host) => void m.handleStream(stream, host),
    );
    m.advertise = { addr: advertiseAddr, port: config.advertisePort ?? m.port };
    // Incarnation 1: an alive at 0 never makes a node alive on a peer.
    m.table.aliveNode(
      { incarnation: 1, node: config.name, addr: m.advertise.addr, port: m.advertise.port, meta, vsn: m.vsn() },
      true,
    );
    m.schedule();
    return m;
  }

  // Public API.

  get localNode(): Node {
    return toNode(this.table.local);
  }

  get boundPort(): number {
    return this.port;
  }

  // Nodes that are alive or suspect, ourselves included.
  members(): Node[] {
    return this.table
      .all()
      .filter((n) => n.state === NodeStateType.Alive || n.state === NodeStateType.Suspect)
      .map(toNode);
  }

  // A node we know of (in any state), by name, without listing them all.
  node(name: string): Node | undefined {
    const record = this.table.get(name);
    return record && toNode(record);
  }

  // Every node we know of, in any state.
  allNodes(): Node[] {
    return this.table.all().map(toNode);
  }

  numMembers(): number {
    return this.members().length;
  }

  // Membership messages (alive, suspect, dead) still waiting for retransmission; a steadily growing
  // figure means this node cannot keep up with the cluster's churn.
  numQueuedBroadcasts(): number {
    return this.broadcasts.length;
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
      try {
        const { host, port } = this.parseAddress(address);
        await this.pushPullWith(host, port, true);
        joined++;
      } catch (err) {
        errors.push(`${address}: ${(err as Error).message}`);
      }
    }
    if (joined === 0 && addresses.length > 0)
      throw new MemberlistError(`could not join any of ${addresses.join(', ')}: ${errors.join('; ')}`);
    return joined;
  }

  // Broadcasts our departure and waits until it has been sent enough times (or the timeout), then
  // keeps answering probes a moment so the leave wins over any suspicion in flight.
  async leave(timeoutMs: number): Promise<void> {
    if (this.leaving || this.stopped) return;
    this.leaving = true;
    const self = this.table.local;
    const others = this.table
      .all()
      .some((n) => n !== self && n.state !== NodeStateType.Dead && n.state !== NodeStateType.Left);
    const sent = new Promise<void>((resolve) =>
      this.table.deadNode({ incarnation: self.incarnation, node: self.name, from: self.name }, resolve),
    );
    if (!others) return;
    await Promise.race([sent, this.sleep(timeoutMs)]);
    await this.sleep(this.config.leavePropagateDelayMs);
  }

  // Stops all activity and closes the sockets (without announcing anything: see leave()).
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of this.sleepers) wake();
    this.table.stop();
    this.ackHandlers.clear();
    this.broadcasts.reset();
    await this.transport.close();
  }

  // Re-reads the delegate's meta and advertises it with a new incarnation; resolves once that has
  // been gossiped enough (or after timeoutMs).
  async updateNode(timeoutMs: number): Promise<void> {
    const self = this.table.local;
    const meta = this.localMeta();
    const alive = {
      incarnation: Math.min(MAX_INCARNATION, self.incarnation + 1),
      node: self.name,
      addr: this.advertise.addr,
      port: this.advertise.port,
      meta,
      vsn: this.vsn(),
    };
    const done = new Promise<void>((resolve) => this.table.aliveNode(alive, true, resolve));
    if (this.table.size > 1) await Promise.race([done, this.sleep(timeoutMs)]);
  }

  // A user message in one UDP packet (with broadcasts piggybacked).
  sendBestEffort(to: string, payload: Buffer): void {
    const node = this.knownNode(to);
    if (payload.length + 1 > MAX_UDP_PAYLOAD)
      throw new MemberlistError(
        `a best-effort message of ${payload.length} bytes cannot fit a UDP packet; use sendReliable`,
      );
    this.sendMsg(node, Buffer.concat([Buffer.from([MessageType.User]), payload]));
  }

  // A user message over TCP: any size up to 20 MiB (what receivers accept).
  async sendReliable(to: string, payload: Buffer): Promise<void> {
    const node = this.knownNode(to);
    if (payload.length > MAX_USER_MSG_BYTES)
      throw new MemberlistError(
        `a reliable message of ${payload.length} bytes exceeds the ${MAX_USER_MSG_BYTES}-byte limit`,
      );
    const stream = await this.transport.dial(addrToString(node.addr), node.port, this.config.tcpTimeoutMs);
    try {
      await this.writeStream(stream, encodeUserStream(payload));
    } finally {
      stream.end();
    }
  }

  // One line per known node, for logs and debugging.
  describe(): string {
    return this.table
      .all()
      .map((n) => `${n.name}:${stateName(n.state)}@${n.incarnation}`)
      .join(' ');
  }

  // Internals: scheduling.

  private schedule(): void {
    // Like memberlist's tickers: a random first delay spreads nodes started together, and a task
    // that overruns its interval runs again at once rather than queueing up.
    const every = (intervalMs: () => number, task: () => void | Promise<void>) => {
      const run = async () => {
        const started = Date.now();
        try {
          await task();
        } catch (err) {
          this.log.warn('periodic task failed', { error: (err as Error).message });
        }
        this.after(Math.max(0, intervalMs() - (Date.now() - started)), () => void run());
      };
      this.after(Math.random() * intervalMs(), () => void run());
    };
    every(
      () => this.config.probeIntervalMs,
      () => this.probe(),
    );
    every(
      () => this.config.gossipIntervalMs,
      () => this.gossip(),
    );
    if (this.config.pushPullIntervalMs > 0)
      every(
        () => this.pushPullInterval(),
        () => this.periodicPushPull(),
      );
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private cancel(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  // Resolves after ms, or at once on shutdown.
  private sleep(ms: number): Promise<void> {
    return this.wait(ms).done;
  }

  // A sleep that can also be cut short.
  private wait(ms: number): { done: Promise<void>; wake: () => void } {
    let wake: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      wake = () => {
        this.sleepers.delete(wake);
        this.cancel(timer);
        resolve();
      };
      this.sleepers.add(wake);
      const timer = this.after(ms, wake);
    });
    return { done, wake };
  }

  // memberlist's pushPullScale: sync less often in big clusters.
  private pushPullInterval(): number {
    const n = this.table.size;
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
    if (meta.length > META_MAX_SIZE)
      throw new MemberlistError(`node meta is ${meta.length} bytes; the limit is ${META_MAX_SIZE}`);
    return meta;
  }

  // As memberlist does, a peer that leaves its port out (0), or any peer when we speak protocol 1,
  // is taken to use the same port as we do.
  private portOrOurs(port: number): number {
    return this.config.protocolVersion < 2 || port === 0 ? this.port : port;
  }

  private knownNode(name: string): NodeRecord {
    const node = this.table.get(name);
    if (!node) throw new MemberlistError(`unknown node ${name}`);
    return node;
  }

  // Protocol version 1 peers only understand encryption version 0.
  private get encryptionVersion(): 0 | 1 {
    return this.config.protocolVersion < 2 ? 0 : 1;
  }

  private get outgoingSecurity(): PacketSecurity {
    const keyring = this.config.gossipVerifyOutgoing ? this.config.keyring : undefined;
    return { keyring, encryptionVersion: this.encryptionVersion, verifyIncoming: this.config.gossipVerifyIncoming };
  }

  private get incomingSecurity(): PacketSecurity {
    return {
      keyring: this.config.keyring,
      encryptionVersion: this.encryptionVersion,
      verifyIncoming: this.config.gossipVerifyIncoming,
    };
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

  // Our broadcasts first (alive, suspect, dead), then the application's, which the delegate sizes
  // to the space left and which go out as user messages.
  private takeBroadcasts(overhead: number, limit: number): Buffer[] {
    const ours = this.broadcasts.take(overhead, limit);
    const used = ours.reduce((sum, b) => sum + overhead + b.length, 0);
    const delegate = this.config.delegate;
    if (!delegate || limit - used <= overhead + USER_MSG_OVERHEAD) return ours;
    let theirs: Buffer[];
    try {
      theirs = delegate.getBroadcasts(overhead + USER_MSG_OVERHEAD, limit - used);
    } catch (err) {
      this.log.warn('getBroadcasts delegate threw', { error: (err as Error).message });
      return ours;
    }
    // An empty user broadcast would make an empty compound part, which crashes memberlist 0.2.2.
    const user = theirs.filter((b) => b.length > 0).map((b) => Buffer.concat([Buffer.from([MessageType.User]), b]));
    return [...ours, ...user];
  }

  // Messages to a node, with as many broadcasts piggybacked as fit.
  private sendMsg(node: NodeRecord, ...messages: Buffer[]): void {
    const size =
      messages.reduce((sum, m) => sum + m.length, 0) + (messages.length > 1 ? COMPOUND_OVERHEAD * messages.length : 0);
    const budget = this.packetBudget() - size - COMPOUND_HEADER_OVERHEAD;
    const extra = budget > COMPOUND_OVERHEAD ? this.takeBroadcasts(COMPOUND_OVERHEAD, budget) : [];
    this.sendMessages(node, [...messages, ...extra]);
  }

  // At most 255 messages fit a compound (its count is one byte), so more go out in several.
  private sendMessages(node: NodeRecord, messages: Buffer[]): void {
    // Gossip to a peer that speaks protocol 5 carries a CRC.
    const crc = (node.vsn[1] ?? 0) >= 5;
    const host = addrToString(node.addr);
    for (let i = 0; i < messages.length; i += MAX_COMPOUND_PARTS) {
      const group = messages.slice(i, i + MAX_COMPOUND_PARTS);
      this.sendRaw(host, node.port, group.length === 1 ? group[0] : makeCompound(group), crc);
    }
  }

  // Replies to an address that may or may not be a known node (acks, nacks, indirect pings).
  private sendToAddress(host: string, port: number, message: Buffer): void {
    const known = this.table.findByAddress(host, port);
    if (known) this.sendMsg(known, message);
    else this.sendRaw(host, port, message, false);
  }

  private sendRaw(host: string, port: number, message: Buffer, crc: boolean): void {
    if (this.stopped || message.length === 0) return;
    this.transport.sendPacket(
      sealPacket(message, { compress: this.config.enableCompression, crc, security: this.outgoingSecurity }),
      host,
      port,
    );
  }

  // Internals: receiving packets. Nothing thrown here may escape: a hostile packet is dropped.

  private ingestPacket(packet: Buffer, host: string, port: number): void {
    if (this.stopped) return;
    try {
      this.handleCommand(openPacket(packet, this.incomingSecurity), host, port, 0);
    } catch (err) {
      this.log.debug('dropped a packet', { from: `${host}:${port}`, error: (err as Error).message });
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
            this.log.debug('dropped a malformed compound part', { from: host, error: (err as Error).message });
          }
        }
        return;
      }
      case MessageType.Compress:
        return this.handleCommand(decompressMessage(body), host, port, depth + 1);
      case MessageType.Ping:
        return this.handlePing(decodePing(parseBody(body)), host, port);
      case MessageType.IndirectPing: {
        const req = decodeIndirectPing(parseBody(body));
        return this.handleIndirectPing({ ...req, port: this.portOrOurs(req.port) }, host, port);
      }
      case MessageType.Ack: {
        const ack = decodeAck(parseBody(body));
        this.ackHandlers.get(ack.seqNo)?.onAck(ack.payload);
        return;
      }
      case MessageType.Nack:
        this.ackHandlers.get(decodeNack(parseBody(body)).seqNo)?.onNack();
        return;
      case MessageType.Suspect:
        return this.table.suspectNode(decodeSuspectOrDead(parseBody(body)));
      case MessageType.Alive: {
        const alive = decodeAlive(parseBody(body));
        return this.table.aliveNode({ ...alive, port: this.portOrOurs(alive.port) }, false);
      }
      case MessageType.Dead:
        return this.table.deadNode(decodeSuspectOrDead(parseBody(body)));
      case MessageType.User:
        if (body.length > 0) this.config.delegate?.notifyMsg(Buffer.from(body));
        return;
      default:
        throw new DecodeError(`message type ${buf[0]} is not handled over UDP`);
    }
  }

  private handlePing(ping: Ping, host: string, port: number): void {
    if (ping.node !== '' && ping.node !== this.config.name) {
      this.log.debug('ignored a ping meant for another node', { node: ping.node, from: host });
      return;
    }
    const ack = encodeAck({ seqNo: ping.seqNo, payload: this.ackPayload() });
    // Reply to the advertised source if the ping names one (NAT, several interfaces), else to the sender.
    const sourceHost = ping.sourceAddr ? addrToString(ping.sourceAddr) : '';
    if (sourceHost !== '' && ping.sourcePort) this.sendToAddress(sourceHost, ping.sourcePort, ack);
    else this.sendToAddress(host, port, ack);
  }

  // The ping delegate's payload; none (nil on the wire) if it has nothing or fails, since a missing
  // ack would get us suspected.
  private ackPayload(): Buffer | null {
    try {
      const payload = this.config.ping?.ackPayload();
      return payload && payload.length > 0 ? payload : null;
    } catch (err) {
      this.log.warn('ping delegate threw', { error: (err as Error).message });
      return null;
    }
  }

  // Probe the target on the requester's behalf; relay its ack, or a nack if it stays silent.
  private handleIndirectPing(req: IndirectPing, host: string, port: number): void {
    const targetHost = addrToString(req.target);
    if (targetHost === '') throw new DecodeError('indirect ping without a valid target address');
    const sourceHost = req.sourceAddr ? addrToString(req.sourceAddr) : '';
    const replyHost = sourceHost !== '' ? sourceHost : host;
    const replyPort = sourceHost !== '' && req.sourcePort ? req.sourcePort : port;
    const seq = this.nextSeq();
    const timer = this.after(this.config.probeTimeoutMs, () => {
      this.ackHandlers.delete(seq);
      if (req.nack) this.sendToAddress(replyHost, replyPort, encodeNack({ seqNo: req.seqNo }));
    });
    this.ackHandlers.set(seq, {
      onAck: () => {
        this.cancel(timer);
        this.ackHandlers.delete(seq);
        this.sendToAddress(replyHost, replyPort, encodeAck({ seqNo: req.seqNo, payload: null }));
      },
      onNack: () => undefined,
    });
    this.sendToAddress(targetHost, req.port, this.pingMessage(seq, req.node));
  }

  private pingMessage(seq: number, node: string): Buffer {
    return encodePing({
      seqNo: seq,
      node,
      sourceAddr: this.advertise.addr,
      sourcePort: this.advertise.port,
      sourceNode: this.config.name,
    });
  }

  // Internals: failure detection (memberlist's probeNode).

  private async probe(): Promise<void> {
    const target = this.table.nextProbeTarget();
    if (!target) return;
    const seq = this.nextSeq();
    const sent = Date.now();
    // Lifeguard: a node in poor health gives its peers longer to answer.
    const deadline = sent + this.awareness.scale(this.config.probeIntervalMs);
    const directDeadline = sent + this.config.probeTimeoutMs;
    let acked = false;
    let nacks = 0;
    let wakeProber: (() => void) | undefined;
    this.ackHandlers.set(seq, {
      onAck: (payload) => {
        if (acked) return;
        acked = true;
        const now = Date.now();
        // Only a direct ack measures the round trip (and carries the peer's ping payload).
        const ping = this.config.ping;
        if (ping && now <= directDeadline) {
          const node = toNode(target);
          try {
            ping.notifyPingComplete(node, now - sent, payload ?? Buffer.alloc(0));
          } catch (err) {
            this.log.warn('ping delegate threw', { error: (err as Error).message });
          }
        }
        wakeProber?.();
      },
      onNack: () => {
        nacks++;
      },
    });
    const waitUntil = (until: number): Promise<void> => {
      if (acked) return Promise.resolve();
      const { done, wake } = this.wait(Math.max(0, until - Date.now()));
      wakeProber = wake;
      return done;
    };
    try {
      const ping = this.pingMessage(seq, target.name);
      // A suspect gets the accusation along with the ping, so it can refute it.
      if (target.state === NodeStateType.Suspect) {
        this.sendMsg(
          target,
          ping,
          encodeSuspect({ incarnation: target.incarnation, node: target.name, from: this.config.name }),
        );
      } else this.sendMsg(target, ping);
      await waitUntil(directDeadline);
      if (this.stopped) return;
      if (acked) {
        this.awareness.apply(-1);
        return;
      }
      this.notifyPingFailed(target);
      const helpers = this.table.randomNodes(
        this.config.indirectChecks,
        (n) => n !== target && n.state === NodeStateType.Alive,
      );
      let expectedNacks = 0;
      for (const helper of helpers) {
        // Peers from protocol 4 on send a nack when they cannot reach the target either.
        const nack = (helper.vsn[1] ?? 0) >= 4;
        if (nack) expectedNacks++;
        this.sendMsg(
          helper,
          encodeIndirectPing({
            seqNo: seq,
            target: target.addr,
            port: target.port,
            node: target.name,
            nack,
            sourceAddr: this.advertise.addr,
            sourcePort: this.advertise.port,
            sourceNode: this.config.name,
          }),
        );
      }
      // UDP may be what is broken: peers from protocol 3 on also answer a ping over TCP.
      if (!this.config.disableTcpPings && (target.vsn[1] ?? 0) >= 3) {
        void this.tcpPing(target, seq, deadline).then((ok) => {
          if (ok) this.ackHandlers.get(seq)?.onAck(null);
        });
      }
      await waitUntil(deadline);
      if (acked || this.stopped) return;
      // Missing nacks suggest that we, not the target, are the one with the problem.
      this.awareness.apply(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
      this.log.info('suspecting an unresponsive node', { node: target.name });
      this.table.suspectNode({ incarnation: target.incarnation, node: target.name, from: this.config.name });
    } finally {
      this.ackHandlers.delete(seq);
    }
  }

  private notifyPingFailed(target: NodeRecord): void {
    try {
      this.config.ping?.notifyPingFailed?.(toNode(target));
    } catch (err) {
      this.log.warn('ping delegate threw', { error: (err as Error).message });
    }
  }

  private async tcpPing(target: NodeRecord, seq: number, deadline: number): Promise<boolean> {
    try {
      const stream = await this.transport.dial(
        addrToString(target.addr),
        target.port,
        Math.max(1, deadline - Date.now()),
      );
      try {
        await this.writeStream(stream, this.pingMessage(seq, target.name));
        const reply = await this.readStream(stream, Math.max(1, deadline - Date.now()));
        if ((reply[0] as MessageType) !== MessageType.Ack) return false;
        return decodeAck(parseBody(reply.subarray(1))).seqNo === seq;
      } finally {
        stream.destroy();
      }
    } catch {
      return false;
    }
  }

  // Internals: gossip.

  // Alive and suspect nodes, and the recently dead (so they learn they were declared dead and can
  // refute it).
  private gossip(): void {
    const cutoff = Date.now() - this.config.gossipToTheDeadTimeMs;
    const targets = this.table.randomNodes(
      this.config.gossipNodes,
      (n) =>
        n.state === NodeStateType.Alive ||
        n.state === NodeStateType.Suspect ||
        (n.state === NodeStateType.Dead && n.stateChange > cutoff),
    );
    for (const node of targets) {
      const messages = this.takeBroadcasts(COMPOUND_OVERHEAD, this.packetBudget() - COMPOUND_HEADER_OVERHEAD);
      if (messages.length === 0) return;
      this.sendMessages(node, messages);
    }
  }

  // Internals: push/pull and streams.

  private async periodicPushPull(): Promise<void> {
    const [peer] = this.table.randomNodes(1, (n) => n.state === NodeStateType.Alive);
    if (!peer) return;
    try {
      await this.pushPullWith(addrToString(peer.addr), peer.port, false);
    } catch (err) {
      this.log.debug('push/pull failed', { node: peer.name, error: (err as Error).message });
    }
  }

  private ourPushPull(join: boolean): Buffer {
    const userState = this.config.delegate?.localState(join) ?? Buffer.alloc(0);
    return encodePushPull(join, this.table.pushStates(), userState);
  }

  private async pushPullWith(host: string, port: number, join: boolean): Promise<void> {
    const stream = await this.transport.dial(host, port, this.config.tcpTimeoutMs);
    try {
      await this.writeStream(stream, this.ourPushPull(join));
      const reply = await this.readStream(stream, this.config.tcpTimeoutMs);
      if ((reply[0] as MessageType) === MessageType.Err)
        throw new MemberlistError(`remote error: ${decodeErr(parseBody(reply.subarray(1)))}`);
      if ((reply[0] as MessageType) !== MessageType.PushPull)
        throw new MemberlistError(`expected a push/pull reply, got message type ${reply[0]}`);
      this.mergeRemote(decodePushPull(reply), join);
    } finally {
      stream.destroy();
    }
  }

  private mergeRemote(remote: PushPull, join: boolean): void {
    this.table.mergeRemoteStates(remote.states.map((s) => ({ ...s, port: this.portOrOurs(s.port) })));
    // No user state, no call: memberlist does the same.
    if (remote.userState.length > 0) this.config.delegate?.mergeRemoteState(remote.userState, join);
  }

  // One request per connection: push/pull (answered with ours), ping (answered with an ack) or a
  // user message. A request that cannot be read is answered with an error message.
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
        case MessageType.PushPull:
          return await this.answerPushPull(stream, message, host);
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

  // Reply first, then merge: the peer waits for our state, not for our verdict on theirs.
  private async answerPushPull(stream: Duplex, message: Buffer, host: string): Promise<void> {
    if (this.pushPullsInFlight >= MAX_CONCURRENT_PUSH_PULLS) {
      this.log.warn('too many push/pulls in progress; closing a connection', { from: host });
      return;
    }
    this.pushPullsInFlight++;
    try {
      const remote = decodePushPull(message);
      await this.writeStream(stream, this.ourPushPull(remote.header.join));
      this.log.debug('answered a push/pull', { from: host, join: remote.header.join, nodes: remote.states.length });
      try {
        this.mergeRemote(remote, remote.header.join);
      } catch (err) {
        this.log.warn('refused to merge a push/pull', { from: host, error: (err as Error).message });
      }
    } finally {
      this.pushPullsInFlight--;
    }
  }

  private writeStream(stream: Duplex, plain: Buffer): Promise<void> {
    const data = sealStream(plain, { compress: this.config.enableCompression, security: this.outgoingSecurity });
    return new Promise((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve())));
  }

  // Reads until one whole message has arrived: streams have no EOF framing.
  private readStream(stream: Duplex, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const reader = new StreamMessageReader(this.incomingSecurity);
      const finish = (err: Error | undefined, message?: Buffer) => {
        clearTimeout(timer);
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        if (err) reject(err);
        else resolve(message!);
      };
      const onData = (chunk: Buffer) => {
        try {
          const message = reader.push(chunk);
          if (message) finish(undefined, message);
        } catch (err) {
          finish(err as Error);
        }
      };
      const onEnd = () => finish(new DecodeError('stream ended before a whole message arrived'));
      const onError = (err: Error) => finish(err);
      const timer = setTimeout(
        () => finish(new MemberlistError(`no complete message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
    });
  }
}
