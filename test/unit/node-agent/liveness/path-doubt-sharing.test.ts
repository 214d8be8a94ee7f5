import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import type { GossipHandlers } from '../../../../node-agent/gossip/cluster';
import { gossipCodec } from '../../../../node-agent/gossip/gossip-codec';
import { MAX_DOUBTS_PER_SECOND, PathDoubtSharing } from '../../../../node-agent/liveness/path-doubt-sharing';
import { MemoryCluster, MemoryNetwork } from '../../../helpers/memory-cluster';

describe('path doubt sharing', () => {
  const log = createLogger({ component: 'test', level: 'error' });
  let network: MemoryNetwork;
  let received: Map<string, string[]>;

  const handlers = (name: string): GossipHandlers => ({
    meta: () => Buffer.alloc(0),
    message: (payload) => received.get(name)!.push(gossipCodec.decode(payload).pathDoubt!.subject),
    localState: () => Buffer.alloc(0),
    mergeRemoteState: () => undefined,
    peerChanged: () => undefined,
    peerUnreachable: () => undefined,
  });

  const add = (name: string): MemoryCluster => {
    received.set(name, []);
    return network.add(name, handlers(name));
  };

  beforeEach(() => {
    network = new MemoryNetwork();
    received = new Map();
  });

  it('tells every other live member at once, not the host in doubt, not itself', async () => {
    const h1 = add('h1');
    add('h2');
    add('h3');
    add('h4').state = 'dead';
    const sharing = new PathDoubtSharing(
      () => h1,
      () => undefined,
      log,
    );
    sharing.tell('h3');
    await new Promise(setImmediate);
    assert.deepEqual(received.get('h2'), ['h3']);
    assert.deepEqual(received.get('h1'), [], 'not itself');
    assert.deepEqual(received.get('h3'), [], 'not the host in doubt');
    assert.deepEqual(received.get('h4'), [], 'not a failed member');
    assert.equal(h1.bestEffortSends, 1, 'one datagram per member told');
    assert.deepEqual(sharing.stats(), { told: 1, taken: 0, refused: 0 });
  });

  it('tells and takes at most a bounded number of doubts a second', () => {
    const h1 = add('h1');
    add('h2');
    const taken: string[] = [];
    const sharing = new PathDoubtSharing(
      () => h1,
      (subject) => taken.push(subject),
      log,
    );
    for (let i = 0; i < 3 * MAX_DOUBTS_PER_SECOND; i++) {
      sharing.tell(`h${i}`);
      sharing.take(`h${i}`);
    }
    // A clock second may turn during the loop: at most two seconds' worth.
    assert.ok(h1.bestEffortSends <= 2 * MAX_DOUBTS_PER_SECOND, `${h1.bestEffortSends} doubts told`);
    assert.ok(taken.length <= 2 * MAX_DOUBTS_PER_SECOND, `${taken.length} doubts taken`);
    assert.equal(sharing.stats().refused, 3 * MAX_DOUBTS_PER_SECOND - taken.length);
  });

  it('does nothing before gossip is up', () => {
    const sharing = new PathDoubtSharing(
      () => undefined,
      () => undefined,
      log,
    );
    sharing.tell('h2');
    assert.deepEqual(sharing.stats(), { told: 0, taken: 0, refused: 0 });
  });
});
