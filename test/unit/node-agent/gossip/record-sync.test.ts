import { strict as assert } from 'node:assert';
import { RecordStore } from '../../../../node-agent/state/record-store';
import { EndpointBody, recordKey } from '../../../../common/fdb-state/record';
import { sameSummary } from '../../../../node-agent/state/owner-summary';
import { createLogger } from '../../../../common/log';
import { messageCodec } from '../../../../common/proto-codec';
import { recordToProto } from '../../../../common/record-proto';
import { RecordSync } from '../../../../node-agent/gossip/record-sync';
import { LocalChangeOutbox } from '../../../../node-agent/state/outbox';
import type { VniConfig__Output } from '../../../../generated/vxgossip/v1/VniConfig';
import { MemoryCluster, MemoryNetwork } from '../../../helpers/memory-cluster';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const vtepOf = (name: string) => `198.18.0.${10 + Number(name.slice(1))}`;
const ep = (node: string, mac: string, over: Partial<EndpointBody> = {}): EndpointBody => ({
  kind: 'endpoint',
  vni: 42,
  mac,
  ips: ['10.42.0.2/24'],
  vtep: vtepOf(node),
  mobilitySeq: 0,
  origin: 'api',
  ...over,
});

interface TestNode {
  name: string;
  store: RecordStore;
  sync: RecordSync;
  cluster: MemoryCluster;
  configRevision: number;
}

function cluster(n: number, incarnation = 1): { network: MemoryNetwork; nodes: TestNode[] } {
  const network = new MemoryNetwork();
  const nodes: TestNode[] = [];
  for (let i = 0; i < n; i++) {
    const name = `n${i}`;
    const store = new RecordStore({ node: name, incarnation, tombstoneTtlMs: 60_000 });
    const node = { name, store, configRevision: 0 } as TestNode;
    node.sync = new RecordSync(
      store,
      {
        revision: () => node.configRevision,
        snapshot: () => ({ revision: node.configRevision, vnis: [] }),
        adopt: (c: VniConfig__Output) => (node.configRevision = Number(c.revision)),
      },
      (peer) => (network.nodes.has(peer) ? vtepOf(peer) : undefined),
      silent,
    );
    node.cluster = network.add(name, {
      meta: () => Buffer.from(vtepOf(name)),
      message: (m) => node.sync.onMessage(m),
      localState: (join) => node.sync.localState(join),
      mergeRemoteState: (s) => node.sync.mergeRemoteState(s),
      peerChanged: () => undefined,
    });
    node.sync.attach(node.cluster);
    new LocalChangeOutbox(store).subscribe((records) => node.sync.publishOwn(records));
    nodes.push(node);
  }
  return { network, nodes };
}

const converged = (nodes: TestNode[]) => {
  for (const owner of nodes) {
    for (const n of nodes)
      assert.ok(
        sameSummary(n.store.summaryOf(owner.name), owner.store.summaryOf(owner.name)),
        `${n.name} differs from ${owner.name} about ${owner.name}`,
      );
  }
};

describe('record sync over gossip', () => {
  it('spreads every record to every node by broadcast', async () => {
    const { nodes } = cluster(8);
    nodes.forEach((n, i) => {
      n.store.issue({ kind: 'membership', vni: 42, vtep: vtepOf(n.name) });
      n.store.issue(ep(n.name, `02:00:00:00:00:0${i}`));
    });
    // The outbox sends what one turn of the event loop changed.
    await new Promise(setImmediate);
    converged(nodes);
    assert.equal([...nodes[3].store.live()].length, 16);
  });

  it('anti-entropy repairs what lost broadcasts missed, tombstones included', async () => {
    const { network, nodes } = cluster(5);
    network.dropBroadcasts = true;
    for (const n of nodes)
      for (let i = 0; i < 20; i++)
        n.store.issue(ep(n.name, `02:00:00:00:${n.name.slice(1).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`));
    nodes[0].store.withdraw(recordKey(ep('n0', '02:00:00:00:00:00')));
    assert.throws(() => converged(nodes));
    // Each round, every node sends its digest to one random peer.
    for (let round = 0; round < 30; round++) await Promise.all(nodes.map((n) => n.sync.antiEntropy()));
    converged(nodes);
    assert.equal(nodes[4].store.get('n0', recordKey(ep('n0', '02:00:00:00:00:00')))?.tombstone, true);
  });

  it('heals a partition: both sides learn what the other issued meanwhile', async () => {
    const { network, nodes } = cluster(4);
    for (const a of ['n0', 'n1']) for (const b of ['n2', 'n3']) network.partition(a, b, false);
    nodes[0].store.issue(ep('n0', '02:00:00:00:00:a0'));
    nodes[3].store.issue(ep('n3', '02:00:00:00:00:a3'));
    assert.equal(nodes[3].store.get('n0', 'ep/42/02:00:00:00:00:a0'), undefined);
    for (const a of ['n0', 'n1']) for (const b of ['n2', 'n3']) network.partition(a, b, true);
    for (let round = 0; round < 20; round++) await Promise.all(nodes.map((n) => n.sync.antiEntropy()));
    converged(nodes);
  });

  it("rejects and counts a record whose VTEP is not its owner's", () => {
    const { nodes } = cluster(3);
    const liar = new RecordStore({ node: 'n1', incarnation: 9, tombstoneTtlMs: 1000 });
    const forged = liar.issue(ep('n1', '02:00:00:00:00:66', { vtep: '198.18.0.99' }));
    const codec = messageCodec<object, unknown>('vxgossip.v1.GossipMessage');
    nodes[0].sync.onMessage(codec.encode({ records: { records: [recordToProto(forged)] } }));
    assert.equal(nodes[0].sync.counters.rejected, 1);
    assert.equal(nodes[0].store.get('n1', 'ep/42/02:00:00:00:00:66'), undefined);
  });

  it('counts and drops garbage without throwing', () => {
    const { nodes } = cluster(2);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: i % 64 }, (_, j) => (i * 31 + j * 7) & 0xff));
      nodes[0].sync.onMessage(junk);
    }
    assert.ok(nodes[0].sync.counters.malformed > 0);
  });

  it('a restarted node refutes its old records that peers still hold, and its new ones win', async () => {
    const { network, nodes } = cluster(3);
    nodes[1].store.issue(ep('n1', '02:00:00:00:00:b1'));
    await new Promise(setImmediate);
    converged(nodes);
    // n1 restarts with an empty store (say its data dir was wiped): same incarnation as before.
    const fresh = new RecordStore({ node: 'n1', incarnation: 1, tombstoneTtlMs: 60_000 });
    const sync = new RecordSync(
      fresh,
      { revision: () => 0, snapshot: () => ({ revision: 0, vnis: [] }), adopt: () => undefined },
      vtepOf,
      silent,
    );
    network.nodes.delete('n1');
    const c = network.add('n1', {
      meta: () => Buffer.alloc(0),
      message: (m) => sync.onMessage(m),
      localState: (join) => sync.localState(join),
      mergeRemoteState: (s) => sync.mergeRemoteState(s),
      peerChanged: () => undefined,
    });
    sync.attach(c);
    new LocalChangeOutbox(fresh).subscribe((records) => sync.publishOwn(records));
    fresh.issue(ep('n1', '02:00:00:00:00:b2'));
    for (let round = 0; round < 20; round++) {
      await sync.antiEntropy();
      await Promise.all(nodes.filter((n) => n.name !== 'n1').map((n) => n.sync.antiEntropy()));
    }
    assert.ok(fresh.incarnation > 1, 'the restarted node moved to a newer incarnation');
    for (const n of nodes.filter((x) => x.name !== 'n1')) {
      assert.equal(
        n.store.get('n1', 'ep/42/02:00:00:00:00:b1')?.tombstone,
        true,
        `${n.name}: the record n1 no longer has is withdrawn`,
      );
      assert.equal(n.store.get('n1', 'ep/42/02:00:00:00:00:b2')?.tombstone, false);
    }
  });

  it('carries the VNI configuration revision: a node behind fetches the newer config', async () => {
    const { nodes } = cluster(3);
    nodes[2].configRevision = 7;
    for (let round = 0; round < 10; round++) await Promise.all(nodes.map((n) => n.sync.antiEntropy()));
    assert.deepEqual(
      nodes.map((n) => n.configRevision),
      [7, 7, 7],
    );
  });
});
