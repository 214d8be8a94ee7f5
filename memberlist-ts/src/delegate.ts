import type { Node } from './node';

// Hooks an application plugs into memberlist, as in HashiCorp memberlist.

export interface Delegate {
  // Metadata advertised with our alive message, at most `limit` bytes.
  nodeMeta(limit: number): Buffer;
  // A user message (broadcast or direct) arrived.
  notifyMsg(payload: Buffer): void;
  // Application broadcasts to piggyback: each entry costs `overhead` bytes more; all must fit in `limit`.
  getBroadcasts(overhead: number, limit: number): Buffer[];
  // Push/pull: our application state, and a peer's.
  localState(join: boolean): Buffer;
  mergeRemoteState(state: Buffer, join: boolean): void;
}

export interface EventDelegate {
  notifyJoin(node: Node): void;
  notifyLeave(node: Node): void;
  notifyUpdate(node: Node): void;
  // A node became suspect, or a suspect one alive again (not in HashiCorp memberlist, which says
  // nothing until the suspicion ends in a death): an application can check the node meanwhile.
  notifySuspicion?(node: Node): void;
}

// Another node claims our name from a different address.
export interface ConflictDelegate {
  notifyConflict(existing: Node, other: Node): void;
}

// Veto a push/pull merge (e.g. a node from another cluster); throw to refuse.
export interface MergeDelegate {
  notifyMerge(peers: Node[]): void;
}

// Veto an alive message about a node; throw to ignore it.
export interface AliveDelegate {
  notifyAlive(peer: Node): void;
}

// Ack payloads (serf puts network coordinates there) and round-trip times of direct probes.
export interface PingDelegate {
  ackPayload(): Buffer;
  notifyPingComplete(other: Node, rttMs: number, payload: Buffer): void;
  // A direct probe got no ack in time: the path from us to it may be broken even if indirect probes
  // through other nodes still reach it (not in HashiCorp memberlist).
  notifyPingFailed?(other: Node): void;
}
