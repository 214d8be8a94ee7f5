import type { GossipCluster, GossipHandlers, Peer } from '../../node-agent/gossip/cluster';

// An in-process stand-in for memberlist: broadcasts and reliable sends are delivered synchronously
// (or dropped, to simulate loss and partitions), membership is whatever the test says.
export class MemoryNetwork {
  readonly nodes = new Map<string, MemoryCluster>();
  // Pairs that cannot talk ("a|b").
  private readonly cut = new Set<string>();
  dropBroadcasts = false;

  add(name: string, handlers: GossipHandlers): MemoryCluster {
    const node = new MemoryCluster(this, name, handlers);
    this.nodes.set(name, node);
    for (const other of this.nodes.values()) if (other !== node) other.handlers.peerChanged(node.asPeer());
    return node;
  }

  partition(a: string, b: string, connected: boolean): void {
    for (const key of [`${a}|${b}`, `${b}|${a}`]) {
      if (connected) this.cut.delete(key);
      else this.cut.add(key);
    }
  }

  canTalk(a: string, b: string): boolean {
    return !this.cut.has(`${a}|${b}`);
  }
}

export class MemoryCluster implements GossipCluster {
  state: Peer['state'] = 'alive';
  // Datagrams this node sent straight to a peer, and broadcasts it queued.
  bestEffortSends = 0;
  broadcasts = 0;

  constructor(
    private readonly network: MemoryNetwork,
    readonly localName: string,
    readonly handlers: GossipHandlers,
  ) {}

  get localAddress(): string {
    return `${this.localName}:7946`;
  }

  asPeer(): Peer {
    return { name: this.localName, address: `${this.localName}:7946`, state: this.state, meta: this.handlers.meta() };
  }

  peers(): Peer[] {
    return [...this.network.nodes.values()].map((n) => n.asPeer());
  }

  isMember = (name: string): boolean => this.network.nodes.has(name);

  broadcast(_key: string, payload: Buffer): void {
    this.broadcasts++;
    if (this.network.dropBroadcasts) return;
    for (const n of this.network.nodes.values()) {
      if (n !== this && n.state === 'alive' && this.network.canTalk(this.localName, n.localName))
        n.handlers.message(Buffer.from(payload));
    }
  }

  queuedBroadcasts(): number {
    return 0;
  }

  async sendBestEffort(peer: string, payload: Buffer): Promise<void> {
    this.bestEffortSends++;
    if (this.network.dropBroadcasts) return;
    await this.sendReliable(peer, payload).catch(() => undefined);
  }

  async sendReliable(peer: string, payload: Buffer): Promise<void> {
    const n = this.network.nodes.get(peer);
    if (!n || n.state !== 'alive' || !this.network.canTalk(this.localName, peer))
      throw new Error(`${peer} unreachable`);
    n.handlers.message(Buffer.from(payload));
  }

  async updateMeta(): Promise<void> {
    for (const n of this.network.nodes.values()) if (n !== this) n.handlers.peerChanged(this.asPeer());
  }

  async join(): Promise<number> {
    return this.network.nodes.size;
  }

  async leave(): Promise<void> {
    this.setState('left');
  }

  async shutdown(): Promise<void> {
    this.setState('dead');
  }

  setState(state: Peer['state']): void {
    this.state = state;
    for (const n of this.network.nodes.values()) if (n !== this) n.handlers.peerChanged(this.asPeer());
  }
}
