import { isIP } from 'node:net';
import type { Logger } from '../../common/log';
import { messageCodec } from '../../common/proto-codec';
import type { NodeMeta, NodeMeta__Output } from '../../generated/vxgossip/v1/NodeMeta';
import type { Node } from '../../generated/vxgossip/v1/Node';
import type { GossipCluster, Peer } from './cluster';
import type { HostLiveness, HostState } from '../liveness/host-liveness';
import { shuffled } from './shuffled';

export const metaCodec = messageCodec<NodeMeta, NodeMeta__Output>('vxgossip.v1.NodeMeta');

export type KnownPeer = Peer & { vtep?: string };

const NODE_STATES: Record<HostState, Node['state']> = {
  alive: 'NODE_STATE_ALIVE',
  suspect: 'NODE_STATE_SUSPECT',
  'agent-down': 'NODE_STATE_AGENT_DOWN',
  dead: 'NODE_STATE_DEAD',
  left: 'NODE_STATE_LEFT',
};

// Every gossip member as this agent last heard of it, and how it finds them: join with retry at
// start, and reconnection to failed peers (as serf does), so both sides of a healed partition —
// each of which declared the other dead and no longer probes it — find each other again. Whether a
// peer's entries are programmed is the host liveness's to say: gossip speaks for agents, not hosts.
export class PeerTable {
  private readonly peers = new Map<string, KnownPeer>();
  // Peers withdrawn (host gone or left) since their entries were last withdrawn: logged once done.
  private readonly deadSince = new Map<string, number>();
  private cluster: GossipCluster | undefined;
  private stopped = false;
  // --join addresses that have answered a join.
  private readonly joinedVia = new Set<string>();

  constructor(
    private readonly self: string,
    private readonly join: string[],
    private readonly liveness: HostLiveness,
    private readonly log: Logger,
  ) {
    liveness.on('change', (peer, state) => {
      if (state === 'dead' || state === 'left') this.deadSince.set(peer, Date.now());
      else this.deadSince.delete(peer);
    });
  }

  attach(cluster: GossipCluster): void {
    this.cluster = cluster;
  }

  stop(): void {
    this.stopped = true;
  }

  // A join, state change or meta update.
  update(peer: Peer): void {
    let vtep: string | undefined;
    try {
      // Only an address is probed: meta is whatever a member chose to send.
      const announced = metaCodec.decode(peer.meta).vtep;
      vtep = isIP(announced) ? announced : undefined;
    } catch {
      vtep = undefined;
    }
    const before = this.peers.get(peer.name);
    this.peers.set(peer.name, { ...peer, vtep });
    if (peer.name !== this.self) this.liveness.update(peer.name, peer.state, vtep);
    if (before?.state !== peer.state) this.log.info('peer state', { peer: peer.name, state: peer.state, vtep });
  }

  // Whether this host programs the peer's entries: alive, suspect (memberlist may yet refute it), or
  // its agent down while its host still forwards.
  alive(name: string): boolean {
    return name === this.self || this.liveness.forwards(name);
  }

  // The member table includes ourselves: only another alive member means we are connected.
  anyOtherAlive(): boolean {
    return [...this.peers.values()].some((p) => p.name !== this.self && p.state === 'alive');
  }

  // Hosts by state, this one included.
  countsByState(): Record<HostState, number> {
    const counts = this.liveness.counts();
    counts.alive++;
    return counts;
  }

  asNodes(): Node[] {
    return [...this.peers.values()].map((p) => ({
      name: p.name,
      vtep: p.vtep ?? '',
      state: p.name === this.self ? 'NODE_STATE_ALIVE' : NODE_STATES[this.liveness.state(p.name) ?? 'alive'],
      stateSinceMs: this.liveness.since(p.name) ?? 0,
      gossipAddress: p.address,
    }));
  }

  // After a pass has withdrawn their entries.
  logWithdrawn(): void {
    const now = Date.now();
    for (const [peer, since] of this.deadSince)
      this.log.info('withdrew the entries of a gone peer', { peer, msSinceDeclaredGone: now - since });
    this.deadSince.clear();
  }

  // One reachable peer is enough (gossip brings the rest), and each join carries a full state
  // snapshot: try the addresses in random order and stop at the first that answers.
  async joinWithRetry(): Promise<void> {
    const cluster = this.cluster;
    if (this.join.length === 0 || !cluster) return;
    const others = this.join.filter((a) => a !== cluster.localAddress);
    const candidates = others.length > 0 ? others : this.join;
    for (let attempt = 1; !this.stopped; attempt++) {
      const errors: string[] = [];
      for (const address of shuffled(candidates)) {
        try {
          await cluster.join([address]);
          // An address may turn out to be our own (a name, or an alias of our address): only a
          // peer other than ourselves counts.
          if (!cluster.peers().some((p) => p.state === 'alive' && p.name !== this.self)) {
            errors.push(`${address}: answered, but no other member is known there`);
            continue;
          }
          this.log.info('joined the gossip cluster', { via: address, members: cluster.peers().length });
          this.joinedVia.add(address);
          return;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      this.log.warn('cannot join the gossip cluster yet; retrying', { join: this.join, attempt, errors });
      await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 10_000)));
    }
  }

  // Failed peers are retried, and so is every --join address that has not answered a join yet (any,
  // when no other member is alive) and no live member has: agents started at once can join each other in pairs, and two islands that
  // know nobody in common never meet through gossip alone. (Once answered, an address is not joined
  // again: a join carries a full snapshot, and a name never matches a member's address.)
  async reconnect(): Promise<void> {
    const cluster = this.cluster;
    if (!cluster || this.stopped) return;
    const peers = [...this.peers.values()];
    const failed = peers.filter((p) => p.state === 'dead').map((p) => p.address);
    const reachable = new Set(peers.filter((p) => p.state === 'alive' || p.state === 'suspect').map((p) => p.address));
    // Alone (every peer failed and was forgotten): every --join address again.
    const alone = ![...reachable].some((a) => a !== cluster.localAddress);
    const missing = this.join.filter(
      (a) => !reachable.has(a) && (alone || !this.joinedVia.has(a)) && a !== cluster.localAddress,
    );
    for (const address of new Set([...failed, ...missing])) {
      try {
        await cluster.join([address]);
        this.joinedVia.add(address);
        this.log.info('reconnected to a peer', { address });
      } catch {
        // Still unreachable: try again next round.
      }
    }
  }
}
