import * as path from 'node:path';
import { Keyring, Memberlist, TransmitLimitedQueue, defaultLanConfig, stateName } from 'memberlist-ts';
import type { Logger } from '../common/log';
import { metaCodec } from '../node-agent/gossip/peer-table';
import type { GossipMessage } from '../generated/vxgossip/v1/GossipMessage';
import { gossipCodec } from '../node-agent/gossip/gossip-codec';
import type { LabHost } from './network';
import type { ManagedProcess } from './managed-process';

export interface RogueGossipSpec {
  name: string;
  // The rogue host's own address: it gossips from there, as any process on the underlay can.
  bindAddr: string;
  port?: number;
  join: string[];
  // The cluster's gossip key (base64), for an attacker who holds it; without it the rogue speaks
  // plaintext memberlist.
  key?: string;
  // Advertised in node meta as an agent advertises its VTEP, so records naming it look consistent.
  vtep?: string;
  // Each is sent as a user broadcast and as a reliable user message to every member, and again
  // every resendMs: an attacker repeats until something gives.
  messages: GossipMessage[];
  // What the rogue answers push/pull with (the join snapshot peers merge); an empty digest if absent.
  pushPull?: GossipMessage;
  resendMs?: number;
}

// A memberlist-ts member that speaks vxgossip's gossip payloads without being an agent: it holds no
// record store and obeys no rule, it sends exactly what it is told.
export class RogueGossipMember {
  private pushPull: Buffer;
  private readonly received = new Map<string, number>();

  private constructor(
    private readonly memberlist: Memberlist,
    private readonly queue: TransmitLimitedQueue,
    private readonly spec: RogueGossipSpec,
    private readonly log: Logger,
  ) {
    this.pushPull = gossipCodec.encode(spec.pushPull ?? { digest: { node: spec.name, owners: [] } });
  }

  static async start(spec: RogueGossipSpec, log: Logger): Promise<RogueGossipMember> {
    // The delegate and the queue run while create() is still binding, before either exists.
    const late: { member?: RogueGossipMember; memberlist?: Memberlist } = {};
    const queue = new TransmitLimitedQueue(4, () => late.memberlist?.allNodes().length ?? 1);
    const meta = metaCodec.encode({ vtep: spec.vtep ?? '', configRevision: 0, agentVersion: 'rogue', incarnation: 1 });
    late.memberlist = await Memberlist.create({
      ...defaultLanConfig(spec.name),
      bindAddr: spec.bindAddr,
      bindPort: spec.port ?? 7946,
      advertiseAddr: spec.bindAddr,
      keyring: spec.key ? Keyring.fromBase64([spec.key]) : undefined,
      delegate: {
        nodeMeta: () => meta,
        notifyMsg: (payload) => late.member?.noteReceived(payload),
        getBroadcasts: (overhead, limit) => queue.take(overhead, limit),
        localState: () => late.member?.pushPull ?? Buffer.alloc(0),
        mergeRemoteState: (state) => late.member?.noteReceived(state),
      },
    });
    late.member = new RogueGossipMember(late.memberlist, queue, spec, log);
    return late.member;
  }

  async join(): Promise<number> {
    return this.memberlist.join(this.spec.join);
  }

  // Alive members other than the rogue.
  members(): string[] {
    return this.memberlist
      .allNodes()
      .filter((n) => n.name !== this.spec.name && stateName(n.state) === 'alive')
      .map((n) => n.name);
  }

  broadcast(message: GossipMessage, key: string): void {
    this.queue.queue({ name: key, message: gossipCodec.encode(message) });
  }

  // Reliable user messages to every member; resolves with those that took it.
  async sendToAll(message: GossipMessage): Promise<string[]> {
    const payload = gossipCodec.encode(message);
    const sent = await Promise.all(
      this.members().map((m) =>
        this.memberlist.sendReliable(m, payload).then(
          () => m,
          (err: Error) => {
            this.log.warn('rogue send failed', { to: m, error: err.message });
            return undefined;
          },
        ),
      ),
    );
    return sent.filter((m): m is string => m !== undefined);
  }

  setPushPull(message: GossipMessage): void {
    this.pushPull = gossipCodec.encode(message);
  }

  // Every configured message, both ways; repetitions are logged at debug level only.
  async deliverAll(repeat = false): Promise<void> {
    for (const [i, message] of this.spec.messages.entries()) {
      this.broadcast(message, `rogue-${i}`);
      const to = await this.sendToAll(message);
      this.log[repeat ? 'debug' : 'info']('rogue sent', { kind: Object.keys(message)[0], to });
    }
  }

  // What peers sent the rogue, by kind: a real member's requests and digests arrive here too.
  receivedKinds(): Record<string, number> {
    return Object.fromEntries(this.received);
  }

  async stop(): Promise<void> {
    await this.memberlist.shutdown();
  }

  private noteReceived(payload: Buffer): void {
    let kind = 'undecodable';
    try {
      kind = gossipCodec.decode(payload).msg ?? 'empty';
    } catch {
      // Counted as undecodable.
    }
    this.received.set(kind, (this.received.get(kind) ?? 0) + 1);
  }
}

// Runs a rogue member in a lab host (its own network namespace) until stopped; it logs
// 'rogue joined' once in the cluster and 'rogue sent' after each delivery.
export function spawnRogueGossipMember(host: LabHost, spec: RogueGossipSpec): ManagedProcess {
  return host.spawn('rogue-gossip', process.execPath, [
    path.join(__dirname, 'rogue-gossip-main.js'),
    '--spec',
    JSON.stringify(spec),
  ]);
}
