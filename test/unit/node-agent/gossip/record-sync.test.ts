import { strict as assert } from 'node:assert';
import { RecordStore } from '../../../../node-agent/state/record-store';
import { EndpointBody, recordKey } from '../../../../common/fdb-state/record';
import { sameSummary } from '../../../../node-agent/state/owner-summary';
import { createLogger } from '../../../../common/log';
import { messageCodec } from '../../../../common/proto-codec';
import { ConfigAdoption, RecordSync, TrustContext } from '../../../../node-agent/gossip/record-sync';
import { LocalChangeOutbox } from '../../../../node-agent/state/outbox';
import type { SignedConfig } from '../../../../generated/vxgossip/v1/SignedConfig';
import type { SignedConfig__Output } from '../../../../generated/vxgossip/v1/SignedConfig';
import { MemoryCluster, MemoryNetwork } from '../../../helpers/memory-cluster';
import { TestPki } from '../../../helpers/test-pki';
import { PeerCertificates } from '../../../../node-agent/trust/peer-certificates';
import { DropCounter } from '../../../../node-agent/trust/drop-reasons';
import { sealBatch } from '../../../../node-agent/trust/record-batches';
import { openSignedConfig, signConfig } from '../../../../common/trust/signed-config';
import { Revocations } from '../../../../common/trust/revocations';

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
  trust: TrustContext;
  configRevision: number;
  signedConfig?: SignedConfig;
}

const codec = messageCodec<object, unknown>('vxgossip.v1.GossipMessage');
let pki: TestPki;

before(async () => {
  pki = await TestPki.create();
});

// A configuration source as the agent's: only what verifies with the CA and is newer is adopted.
function configSource(node: TestNode) {
  return {
    revision: () => node.configRevision,
    signed: () => node.signedConfig,
    adopt: (c: SignedConfig__Output): ConfigAdoption => {
      let revision: number;
      try {
        revision = Number(openSignedConfig(c, pki.anchor).revision);
      } catch {
        return 'unsigned';
      }
      if (revision <= node.configRevision) return 'stale';
      node.configRevision = revision;
      node.signedConfig = c;
      return 'adopted';
    },
  };
}

async function trustFor(name: string): Promise<TrustContext> {
  const signer = await pki.node(name, [vtepOf(name)]);
  return { signer: () => signer, certificates: new PeerCertificates(pki.anchor), drops: new DropCounter() };
}

async function cluster(n: number, incarnation = 1): Promise<{ network: MemoryNetwork; nodes: TestNode[] }> {
  const network = new MemoryNetwork();
  const nodes: TestNode[] = [];
  for (let i = 0; i < n; i++) {
    const name = `n${i}`;
    const store = new RecordStore({ node: name, incarnation, tombstoneTtlMs: 60_000 });
    const node = { name, store, configRevision: 0, trust: await trustFor(name) } as TestNode;
    node.sync = new RecordSync(store, configSource(node), node.trust, silent);
    node.cluster = network.add(name, {
      meta: () => Buffer.from(vtepOf(name)),
      message: (m) => node.sync.onMessage(m),
      localState: (join) => node.sync.localState(join),
      mergeRemoteState: (s) => node.sync.mergeRemoteState(s),
      peerChanged: () => undefined,
      peerUnreachable: () => undefined,
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
    const { nodes } = await cluster(8);
    nodes.forEach((n, i) => {
      n.store.issue({ kind: 'membership', vni: 42, vtep: vtepOf(n.name) });
      n.store.issue(ep(n.name, `02:00:00:00:00:0${i}`));
    });
    // The outbox sends what one turn of the event loop changed.
    await new Promise(setImmediate);
    converged(nodes);
    assert.equal([...nodes[3].store.live()].length, 16);
  });

  it('pushes a change to every peer at once, a bulk change (a restart re-issuing all) to a few', async () => {
    const { nodes } = await cluster(12);
    const sender = nodes[0].cluster;
    nodes[0].store.issue(ep('n0', '02:00:00:00:00:01'));
    await new Promise(setImmediate);
    assert.equal(sender.bestEffortSends, 11, 'one change: straight to every peer');
    sender.bestEffortSends = 0;
    sender.broadcasts = 0;
    for (let i = 0; i < 600; i++)
      nodes[0].store.issue(
        ep('n0', `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`),
      );
    await new Promise(setImmediate);
    const batches = sender.broadcasts;
    assert.ok(batches > 40, `${batches} signed batches`);
    assert.equal(sender.bestEffortSends, 3 * batches, 'each batch straight to 3 peers, not 11');
    converged(nodes);
  });

  it('relays what a partial push or a broadcast brought; not a push to every member, a reply or a snapshot', async () => {
    const { network, nodes } = await cluster(6);
    const relayed = () => nodes.slice(1).reduce((sum, n) => sum + n.cluster.broadcasts, 0);
    nodes[0].store.issue(ep('n0', '02:00:00:00:00:01'));
    await new Promise(setImmediate);
    converged(nodes);
    assert.equal(relayed(), 0, 'pushed to every member: nobody echoes it');

    for (let i = 0; i < 600; i++)
      nodes[0].store.issue(
        ep('n0', `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`),
      );
    await new Promise(setImmediate);
    converged(nodes);
    assert.ok(relayed() > 0, 'pushed to 3 of 5: the others learn it from relays');

    const before = relayed();
    network.dropBroadcasts = true;
    nodes[0].store.issue(ep('n0', '02:00:00:00:00:02'));
    await new Promise(setImmediate);
    for (let round = 0; round < 30; round++) await Promise.all(nodes.map((n) => n.sync.antiEntropy()));
    converged(nodes);
    const late = nodes[5];
    late.store.forget('n0');
    late.sync.mergeRemoteState(nodes[1].sync.localState(true));
    converged(nodes);
    assert.equal(relayed(), before, 'what anti-entropy fetched and a join snapshot brought is not relayed');
  });

  it('anti-entropy repairs what lost broadcasts missed, tombstones included', async () => {
    const { network, nodes } = await cluster(5);
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
    const { network, nodes } = await cluster(4);
    for (const a of ['n0', 'n1']) for (const b of ['n2', 'n3']) network.partition(a, b, false);
    nodes[0].store.issue(ep('n0', '02:00:00:00:00:a0'));
    nodes[3].store.issue(ep('n3', '02:00:00:00:00:a3'));
    assert.equal(nodes[3].store.get('n0', 'ep/42/02:00:00:00:00:a0'), undefined);
    for (const a of ['n0', 'n1']) for (const b of ['n2', 'n3']) network.partition(a, b, true);
    for (let round = 0; round < 20; round++) await Promise.all(nodes.map((n) => n.sync.antiEntropy()));
    converged(nodes);
  });

  // What a peer says is refused, and counted by reason, unless its owner signed it with a current
  // certificate of the cluster CA naming the owner and the VTEP.
  describe('refuses what the owner did not sign', () => {
    const forged = (owner: string, over: Partial<EndpointBody> = {}) => {
      const liar = new RecordStore({ node: owner, incarnation: 9, tombstoneTtlMs: 1000 });
      return liar.issue(ep(owner, '02:00:00:00:00:66', over));
    };
    const send = (to: TestNode, batch: object, certificates: Buffer[] = []) =>
      to.sync.onMessage(codec.encode({ records: { batches: [batch], certificates } }));
    const refused = (to: TestNode, reason: Parameters<DropCounter['get']>[0]) => {
      assert.equal(to.trust.drops.get(reason), 1, `counted as ${reason}`);
      assert.equal(to.store.get('n1', 'ep/42/02:00:00:00:00:66'), undefined, 'nothing stored');
    };

    it('a VTEP its owner is not certified for', async () => {
      const { nodes } = await cluster(3);
      const n1 = nodes[1].trust.signer();
      send(nodes[0], sealBatch([forged('n1', { vtep: '198.18.0.99' })], n1), [n1.certificateDer]);
      refused(nodes[0], 'vtep-not-certified');
    });

    it("another owner's records, signed by a member with its own certificate", async () => {
      const { nodes } = await cluster(3);
      const n2 = nodes[2].trust.signer();
      // Named as n1's batch, signed by n2: the certificate does not name the owner.
      send(nodes[0], { ...sealBatch([forged('n1')], n2), owner: 'n1' }, [n2.certificateDer]);
      refused(nodes[0], 'untrusted-certificate');
      // Named as n2's batch, with n1's record inside.
      send(nodes[0], sealBatch([forged('n1')], n2), [n2.certificateDer]);
      refused(nodes[0], 'wrong-owner');
    });

    it("a signature that is not the owner's key, with the owner's certificate", async () => {
      const { nodes } = await cluster(3);
      const n1 = nodes[1].trust.signer();
      const impostor = await pki.node('n1', [vtepOf('n1')]);
      send(nodes[0], sealBatch([forged('n1')], { ...impostor, fingerprint: n1.fingerprint }), [n1.certificateDer]);
      refused(nodes[0], 'bad-signature');
    });

    it('a certificate from another CA', async () => {
      const { nodes } = await cluster(3);
      const rogue = await (await TestPki.create()).node('n1', [vtepOf('n1')]);
      send(nodes[0], sealBatch([forged('n1')], rogue), [rogue.certificateDer]);
      refused(nodes[0], 'unknown-certificate');
      assert.equal(nodes[0].trust.drops.get('untrusted-certificate'), 1, 'the certificate itself refused');
    });

    it('an owner that is not a gossip member', async () => {
      const { nodes } = await cluster(2);
      const ghost = await pki.node('n7', [vtepOf('n7')]);
      send(nodes[0], sealBatch([forged('n7')], ghost), [ghost.certificateDer]);
      assert.equal(nodes[0].trust.drops.get('not-a-member'), 1);
      assert.equal(nodes[0].store.recordsOf('n7').length, 0);
    });

    it('a revoked node: its records go, and what it signs later is refused', async () => {
      const { nodes } = await cluster(3);
      nodes[1].store.issue(ep('n1', '02:00:00:00:00:77'));
      await new Promise(setImmediate);
      assert.ok(nodes[0].store.get('n1', 'ep/42/02:00:00:00:00:77'));
      nodes[0].trust.certificates.setRevocations(new Revocations([{ node: 'n1', revokedAtMs: Date.now() }]));
      nodes[0].store.forget('n1');
      const n1 = nodes[1].trust.signer();
      send(nodes[0], sealBatch([forged('n1')], n1), [n1.certificateDer]);
      assert.equal(nodes[0].trust.drops.get('revoked'), 1);
      assert.ok(nodes[0].trust.drops.get('unknown-certificate') >= 1);
      assert.equal(nodes[0].store.recordsOf('n1').length, 0);
    });

    it("fetches an owner's certificate it lacks, then takes the owner's records", async () => {
      const { nodes } = await cluster(3);
      const n1 = nodes[1].trust.signer();
      // A datagram carries no certificate: n0 has never seen n1's.
      send(nodes[0], sealBatch([nodes[1].store.issue(ep('n1', '02:00:00:00:00:88'))], n1));
      await new Promise(setImmediate);
      assert.ok(nodes[0].trust.drops.get('unknown-certificate') >= 1);
      assert.equal(nodes[0].store.get('n1', 'ep/42/02:00:00:00:00:88')?.tombstone, false, 'fetched from n1');
    });

    it('a configuration without the server signature, or signed by a node', async () => {
      const { nodes } = await cluster(2);
      const config = { revision: 1e15, vnis: [], revocations: [] };
      const byNode = signConfig(config, await pki.configSigner('node'));
      nodes[0].sync.onMessage(codec.encode({ config: byNode }));
      nodes[0].sync.onMessage(
        codec.encode({ config: { ...signConfig(config, await pki.configSigner()), signature: Buffer.alloc(64) } }),
      );
      assert.equal(nodes[0].trust.drops.get('unsigned-config'), 2);
      assert.equal(nodes[0].configRevision, 0);
      nodes[0].sync.onMessage(
        codec.encode({ config: signConfig({ ...config, revision: 3 }, await pki.configSigner()) }),
      );
      assert.equal(nodes[0].configRevision, 3, 'the signed one is adopted');
    });
  });

  it('counts and drops garbage without throwing', async () => {
    const { nodes } = await cluster(2);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: i % 64 }, (_, j) => (i * 31 + j * 7) & 0xff));
      nodes[0].sync.onMessage(junk);
    }
    assert.ok(nodes[0].trust.drops.get('malformed') > 0);
  });

  it('a restarted node refutes its old records that peers still hold, and its new ones win', async () => {
    const { network, nodes } = await cluster(3);
    nodes[1].store.issue(ep('n1', '02:00:00:00:00:b1'));
    await new Promise(setImmediate);
    converged(nodes);
    // n1 restarts with an empty store (say its data dir was wiped): same incarnation as before.
    const fresh = new RecordStore({ node: 'n1', incarnation: 1, tombstoneTtlMs: 60_000 });
    const sync = new RecordSync(
      fresh,
      { revision: () => 0, signed: () => undefined, adopt: () => 'stale' },
      await trustFor('n1'),
      silent,
    );
    network.nodes.delete('n1');
    const c = network.add('n1', {
      meta: () => Buffer.alloc(0),
      message: (m) => sync.onMessage(m),
      localState: (join) => sync.localState(join),
      mergeRemoteState: (s) => sync.mergeRemoteState(s),
      peerChanged: () => undefined,
      peerUnreachable: () => undefined,
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
    const { nodes } = await cluster(3);
    nodes[2].configRevision = 7;
    nodes[2].signedConfig = signConfig({ revision: 7, vnis: [], revocations: [] }, await pki.configSigner());
    for (let round = 0; round < 10; round++) await Promise.all(nodes.map((n) => n.sync.antiEntropy()));
    assert.deepEqual(
      nodes.map((n) => n.configRevision),
      [7, 7, 7],
    );
  });
});
