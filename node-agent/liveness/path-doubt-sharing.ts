import type { Logger } from '../../common/log';
import { PerSecondBudget } from '../../common/per-second-budget';
import type { GossipCluster } from '../gossip/cluster';
import { gossipCodec } from '../gossip/gossip-codec';

// Doubts told, and doubts taken from peers, at most this many a second each: a rack going down is
// told at once; a member that lies costs a bounded number of probes. Beyond it, gossip's suspicion
// still reaches every host, only later.
export const MAX_DOUBTS_PER_SECOND = 20;

// When our own probes of a peer's VTEP go unanswered, every other host is told at once, in one
// datagram each, instead of waiting for gossip's suspicion (indirect probes, then epidemic spread):
// they start probing that VTEP themselves. A doubt is only a reason to probe: each host withdraws a
// peer only when its own probes find the VTEP silent for a whole window, so a lie withdraws nothing.
export class PathDoubtSharing {
  private readonly told = new PerSecondBudget(MAX_DOUBTS_PER_SECOND);
  private readonly taken = new PerSecondBudget(MAX_DOUBTS_PER_SECOND);
  private readonly counters = { told: 0, taken: 0, refused: 0 };

  constructor(
    private readonly cluster: () => GossipCluster | undefined,
    // Where a doubt from a peer goes (our liveness view); it ignores names it does not know.
    private readonly onDoubt: (subject: string) => void,
    private readonly log: Logger,
  ) {}

  tell(subject: string): void {
    const cluster = this.cluster();
    if (!cluster || !this.told.take()) return;
    const payload = gossipCodec.encode({ pathDoubt: { subject } });
    const peers = cluster
      .peers()
      .filter((p) => p.state === 'alive' && p.name !== subject && p.name !== cluster.localName);
    for (const peer of peers)
      cluster.sendBestEffort(peer.name, payload).catch((err: Error) => {
        this.log.debug('could not tell a peer of a doubt', { peer: peer.name, subject, err });
      });
    this.counters.told++;
    this.log.info('told peers that our probes of a VTEP go unanswered', { subject, peers: peers.length });
  }

  take(subject: string): void {
    if (!this.taken.take()) {
      this.counters.refused++;
      return;
    }
    this.counters.taken++;
    this.log.debug('a peer doubts the path to a host: probing its VTEP', { subject });
    this.onDoubt(subject);
  }

  stats(): { told: number; taken: number; refused: number } {
    return { ...this.counters };
  }
}
