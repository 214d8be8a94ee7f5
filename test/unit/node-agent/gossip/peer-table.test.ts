import { strict as assert } from 'node:assert';
import { PeerTable, metaCodec } from '../../../../node-agent/gossip/peer-table';
import type { GossipCluster, Peer } from '../../../../node-agent/gossip/cluster';
import { createLogger } from '../../../../common/log';
import { HostLiveness } from '../../../../node-agent/liveness/host-liveness';
import { FakeReach } from '../../../helpers/fake-reach';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const peer = (name: string, state: Peer['state'] = 'alive'): Peer => ({
  name,
  address: `198.18.0.${10 + Number(name.slice(1))}:7946`,
  state,
  meta: Buffer.alloc(0),
});

// Records the joins the table asks for; every address answers.
function fakeCluster(): GossipCluster & { joins: string[] } {
  const joins: string[] = [];
  return {
    joins,
    localName: 'h1',
    localAddress: '198.18.0.11:7946',
    peers: () => [],
    isMember: () => false,
    broadcast: () => undefined,
    queuedBroadcasts: () => 0,
    sendBestEffort: async () => undefined,
    sendReliable: async () => undefined,
    updateMeta: async () => undefined,
    join: async (addresses: string[]) => {
      joins.push(...addresses);
      return addresses.length;
    },
    leave: async () => undefined,
    shutdown: async () => undefined,
  };
}

describe('peer table reconnects', () => {
  const join = ['198.18.0.11:7946', '198.18.0.12:7946', '198.18.0.13:7946', '198.18.0.14:7946'];

  it('joins every --join address no live member has, once: two islands of a simultaneous start meet', async () => {
    const table = new PeerTable('h1', join, new HostLiveness(new FakeReach(), 0, silent), silent);
    const cluster = fakeCluster();
    table.attach(cluster);
    // h1 joined h3 and knows only it; h2 and h4 formed another island.
    for (const p of [peer('h1'), peer('h3')]) table.update(p);
    await table.reconnect();
    assert.deepEqual(cluster.joins.sort(), ['198.18.0.12:7946', '198.18.0.14:7946']);
    await table.reconnect();
    assert.equal(cluster.joins.length, 2, 'an address that answered is not joined again (a join is a full snapshot)');
  });

  it('retries failed peers, and every --join address when no other member is alive', async () => {
    const table = new PeerTable('h1', join, new HostLiveness(new FakeReach(), 0, silent), silent);
    const cluster = fakeCluster();
    table.attach(cluster);
    for (const p of [peer('h1'), peer('h2'), peer('h3'), peer('h4')]) table.update(p);
    await table.reconnect();
    assert.deepEqual(cluster.joins, [], 'everyone known and alive: nothing to do');
    for (const p of [peer('h2', 'dead'), peer('h3', 'dead'), peer('h4', 'dead')]) table.update(p);
    await table.reconnect();
    assert.deepEqual(cluster.joins.sort(), ['198.18.0.12:7946', '198.18.0.13:7946', '198.18.0.14:7946']);
  });

  it('probes only an address: a member announcing anything else as its VTEP is judged by gossip alone', () => {
    const reach = new FakeReach();
    const table = new PeerTable('h1', join, new HostLiveness(reach, 60_000, silent), silent);
    const meta = metaCodec.encode({ vtep: '198.18.0.12; rm -rf /' });
    table.update({ ...peer('h2', 'suspect'), meta });
    assert.equal(reach.watched.size, 0);
    table.update({ ...peer('h3', 'suspect'), meta: metaCodec.encode({ vtep: '198.18.0.13' }) });
    assert.deepEqual([...reach.watched.keys()], ['198.18.0.13']);
  });
});
