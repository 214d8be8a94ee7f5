import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { Etcd3 } from 'etcd3';
import { EtcdRecordStore } from '../../../server/etcd/etcd-record-store';
import { EtcdHealth } from '../../../server/etcd/etcd-health';
import { connectEtcd } from '../../../server/etcd/etcd-client';
import { StorageUnavailableError } from '../../../server/database';
import type { ReplicaChange } from '../../../server/record-store';
import { requirePrograms } from '../../helpers/require-root';
import { ETCD, LocalEtcd } from '../../../lab/local-etcd';
import { TcpProxy } from '../../helpers/tcp-proxy';
import { record, recordStoreContract } from './record-store-contract';
import { eventually } from '../../../lab/eventually';

describe('record store (etcd)', function () {
  let etcd: LocalEtcd | undefined;
  let clients: Etcd3[] = [];
  let stores: EtcdRecordStore[] = [];
  let run = 0;
  // Each replica its own client, as separate servers have.
  const replicaOf = async (prefix: string, endpoint = etcd!.endpoint, max?: number) => {
    const client = connectEtcd({ endpoints: [endpoint] });
    clients.push(client);
    const store = await EtcdRecordStore.open(client, prefix, max);
    stores.push(store);
    return store;
  };
  const changesOf = (store: EtcdRecordStore) => {
    const changes: ReplicaChange[] = [];
    store.on('change', (c) => changes.push(c));
    return changes;
  };
  const summary = (changes: ReplicaChange[]) =>
    changes.map((c) => [
      c.revision,
      c.after.owner,
      c.after.body.kind === 'endpoint' && c.after.body.mac,
      c.after.version.counter,
    ]);

  before(async function () {
    requirePrograms(this, ETCD);
    etcd = await LocalEtcd.start();
  });
  after(() => etcd?.stop());
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    for (const client of clients) client.close();
    [clients, stores] = [[], []];
  });

  describe('contract', () =>
    recordStoreContract(async () => {
      const prefix = `rec-${++run}/`;
      return { open: (max?: number) => replicaOf(prefix, undefined, max), cleanup: async () => undefined };
    }));

  describe('replicas', () => {
    it('numbers every change alike on every replica, so a watch resumes on another with no gap and no duplicate', async () => {
      const prefix = `rec-${++run}/`;
      const [a, b] = [await replicaOf(prefix), await replicaOf(prefix)];
      const [onA, onB] = [changesOf(a), changesOf(b)];
      await Promise.all([
        a.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 1), record('h1', '02:00:00:00:00:02', 1)]),
        b.merge('h2', '10.0.0.2', [record('h2', '02:00:00:00:00:03', 1)]),
        a.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 2)]),
        b.merge('h3', '10.0.0.3', [record('h3', '02:00:00:00:00:04', 1)]),
      ]);
      await eventually(() => assert.ok(onA.length === 5 && onB.length === 5), 5_000, 20);
      assert.deepEqual(summary(onB), summary(onA));
      // A watcher that saw the first two changes on A goes on from there on B.
      assert.deepEqual(summary(b.changesAfter(onA[1].revision, 10)), summary(onA.slice(2)));
      assert.equal(b.currentRevision(), a.currentRevision());
    });

    it('keeps the newer version when two replicas write one key (an agent that moved between them)', async () => {
      const prefix = `rec-${++run}/`;
      const [a, b] = [await replicaOf(prefix), await replicaOf(prefix)];
      await Promise.all([
        a.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 7)]),
        b.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 5)]),
      ]);
      await eventually(() => assert.ok(a.versionOf('h1').counter === 7 && b.versionOf('h1').counter === 7), 5_000, 20);
      const reopened = await replicaOf(prefix);
      assert.equal(reopened.versionOf('h1').counter, 7, 'the older write did not overwrite the newer in etcd');
    });

    it('a replica cut off from etcd reports NOT_SERVING and refuses writes; back, it catches up on what it missed, even past compaction', async () => {
      const prefix = `rec-${++run}/`;
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(etcd!.endpoint).port) });
      try {
        const a = await replicaOf(prefix, proxy.endpoint);
        const b = await replicaOf(prefix);
        const health = new EtcdHealth(clients[0], `${prefix}probe`);
        health.start([a.following]);
        await a.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 1)]);
        const onA = changesOf(a);

        proxy.partition();
        const [down] = await once(health, 'health');
        assert.equal(down.serving, false);
        assert.match(down.reason, /etcd does not answer/);
        await assert.rejects(
          a.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 2)]),
          StorageUnavailableError,
        );
        // The others carry on, and etcd compacts past what the cut-off replica last saw.
        await b.merge('h2', '10.0.0.2', [record('h2', '02:00:00:00:00:02', 1)]);
        await b.forget('h1');
        const now = await clients[1].get(`${prefix}x`).exec();
        await clients[1].kv.compact({ revision: now.header.revision, physical: true });

        proxy.restore();
        await eventually(() => assert.ok(health.health().serving, health.health().reason), 20_000, 20);
        await eventually(() => assert.deepEqual(a.ownerNames(), ['h2']), 20_000, 20);
        assert.deepEqual(
          onA.map((c) => [c.after.owner, c.after.tombstone]).sort(),
          [
            ['h1', true],
            ['h2', false],
          ],
          'what happened meanwhile reaches its watchers as changes',
        );
        await a.merge('h3', '10.0.0.3', [record('h3', '02:00:00:00:00:03', 1)]);
        health.stop();
      } finally {
        await proxy.stop();
      }
    });
  });
});
