import { Keyring, Memberlist, Node, TransmitLimitedQueue, defaultLanConfig, stateName } from 'memberlist-ts';
import type { Logger } from '../../common/log';
import type { GossipCluster, GossipHandlers, Peer } from './cluster';

export interface MemberlistOptions {
  name: string;
  bindHost: string;
  bindPort: number;
  advertiseHost?: string;
  advertisePort?: number;
  keyring?: Keyring;
  // memberlist's LAN profile unless given (see --gossip-probe-interval).
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  log: Logger;
}

const toPeer = (n: Node): Peer => ({
  name: n.name,
  address: `${n.addr}:${n.port}`,
  state: stateName(n.state),
  meta: n.meta,
});

// The agent's gossip over memberlist-ts: our records ride as user broadcasts in memberlist's
// packets, anti-entropy as push/pull user state, peers' VTEPs in node meta.
export class MemberlistCluster implements GossipCluster {
  private constructor(
    private readonly memberlist: Memberlist,
    private readonly queue: TransmitLimitedQueue,
  ) {}

  static async create(options: MemberlistOptions, handlers: GossipHandlers): Promise<MemberlistCluster> {
    // The queue's callback may run while Memberlist.create is still joining: a const would not exist yet.
    // eslint-disable-next-line prefer-const
    let memberlist: Memberlist | undefined;
    const queue = new TransmitLimitedQueue(4, () => memberlist?.allNodes().length ?? 1);
    const gossipLog = options.log.child({ part: 'memberlist' });
    memberlist = await Memberlist.create({
      ...defaultLanConfig(options.name),
      ...(options.probeIntervalMs !== undefined && { probeIntervalMs: options.probeIntervalMs }),
      ...(options.probeTimeoutMs !== undefined && { probeTimeoutMs: options.probeTimeoutMs }),
      bindAddr: options.bindHost,
      bindPort: options.bindPort,
      advertiseAddr: options.advertiseHost,
      advertisePort: options.advertisePort,
      keyring: options.keyring,
      // memberlist's LZW runs in JavaScript here: a 10,000-record join snapshot costs ~40 ms to
      // compress and as much to expand, on the joining host's path to programming. On a LAN the
      // bytes are cheaper than the CPU.
      enableCompression: false,
      logger: gossipLog,
      delegate: {
        nodeMeta: () => handlers.meta(),
        notifyMsg: (payload) => handlers.message(payload),
        getBroadcasts: (overhead, limit) => queue.take(overhead, limit),
        localState: (join) => handlers.localState(join),
        mergeRemoteState: (state, join) => handlers.mergeRemoteState(state, join),
      },
      ping: {
        ackPayload: () => Buffer.alloc(0),
        notifyPingComplete: () => undefined,
        notifyPingFailed: (n) => handlers.peerUnreachable(n.name),
      },
      events: {
        notifyJoin: (n) => handlers.peerChanged(toPeer(n)),
        notifyLeave: (n) => handlers.peerChanged(toPeer(n)),
        notifyUpdate: (n) => handlers.peerChanged(toPeer(n)),
        notifySuspicion: (n) => handlers.peerChanged(toPeer(n)),
      },
    });
    return new MemberlistCluster(memberlist, queue);
  }

  get localName(): string {
    return this.memberlist.config.name;
  }

  get localAddress(): string {
    const self = this.memberlist.localNode;
    return `${self.addr}:${self.port}`;
  }

  peers(): Peer[] {
    return this.memberlist
      .allNodes()
      .filter((n) => n.name !== this.localName)
      .map(toPeer);
  }

  isMember = (name: string): boolean => this.memberlist.node(name) !== undefined;

  broadcast(key: string, payload: Buffer): void {
    this.queue.queue({ name: key, message: payload });
  }

  queuedBroadcasts(): number {
    return this.queue.length;
  }

  async sendBestEffort(peer: string, payload: Buffer): Promise<void> {
    this.memberlist.sendBestEffort(peer, payload);
  }

  sendReliable(peer: string, payload: Buffer): Promise<void> {
    return this.memberlist.sendReliable(peer, payload);
  }

  updateMeta(): Promise<void> {
    return this.memberlist.updateNode(2_000);
  }

  join(addresses: string[]): Promise<number> {
    return this.memberlist.join(addresses);
  }

  leave(timeoutMs: number): Promise<void> {
    return this.memberlist.leave(timeoutMs);
  }

  shutdown(): Promise<void> {
    return this.memberlist.shutdown();
  }
}
