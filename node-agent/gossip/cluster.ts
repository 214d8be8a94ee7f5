// What the agent needs from a gossip membership library, so the record logic is testable with an
// in-memory cluster and memberlist-ts plugs in behind it (see memberlist-cluster.ts).

export type PeerState = 'alive' | 'suspect' | 'dead' | 'left';

export interface Peer {
  name: string;
  // host:port of its gossip endpoint.
  address: string;
  state: PeerState;
  meta: Buffer;
}

export interface GossipHandlers {
  // Node meta advertised to peers (at most 512 bytes).
  meta(): Buffer;
  // A user message or broadcast from some peer (memberlist does not say which).
  message(payload: Buffer): void;
  // Push/pull anti-entropy: our state summary, and a peer's.
  localState(join: boolean): Buffer;
  mergeRemoteState(state: Buffer, join: boolean): void;
  // Join, state change (suspect/dead/left) or meta update of a peer.
  peerChanged(peer: Peer): void;
  // Our direct probe of a peer went unanswered (gossip may still reach it through others).
  peerUnreachable(name: string): void;
}

export interface GossipCluster {
  readonly localName: string;
  // host:port peers reach us at.
  readonly localAddress: string;
  peers(): Peer[];
  // Whether gossip knows this node (in any state): cheaper than scanning peers().
  isMember: (name: string) => boolean;
  // Queued and retransmitted a number of times that grows with log(N); a newer broadcast with the
  // same key replaces an older one still in the queue.
  broadcast(key: string, payload: Buffer): void;
  // Broadcasts still waiting to be sent their full number of times.
  queuedBroadcasts(): number;
  // One packet (UDP), no retransmission.
  sendBestEffort(peer: string, payload: Buffer): Promise<void>;
  // Over a stream (TCP): for payloads larger than a packet.
  sendReliable(peer: string, payload: Buffer): Promise<void>;
  // Re-advertises meta() to the cluster.
  updateMeta(): Promise<void>;
  join(addresses: string[]): Promise<number>;
  leave(timeoutMs: number): Promise<void>;
  shutdown(): Promise<void>;
}
