import { strict as assert } from 'node:assert';
import { Etcd3 } from 'etcd3';
import { EtcdVniStore } from '../../../server/etcd/etcd-vni-store';
import { StorageUnavailableError } from '../../../server/database';
import { AlreadyExistsError } from '../../../server/vni-changes';
import type { VniConfigStore } from '../../../server/vni-config-store';
import { requirePrograms } from '../../helpers/require-root';
import { ETCD, LocalEtcd } from '../../../lab/local-etcd';
import { vniStoreContract } from './vni-store-contract';

describe('VNI store (etcd)', function () {
  let etcd: LocalEtcd | undefined;
  let clients: Etcd3[] = [];
  let run = 0;
  // Each test its own keyspace in the one etcd; each open its own client, as a restarted replica has.
  const replicaOf = async (prefix: string): Promise<VniConfigStore> => {
    const client = new Etcd3({ hosts: etcd!.endpoint });
    clients.push(client);
    return EtcdVniStore.open(client, prefix);
  };

  before(async function () {
    requirePrograms(this, ETCD);
    etcd = await LocalEtcd.start();
  });
  after(() => etcd?.stop());
  afterEach(() => {
    for (const client of clients) client.close();
    clients = [];
  });

  describe('contract', () =>
    vniStoreContract(async () => {
      const prefix = `run-${++run}/`;
      return { open: () => replicaOf(prefix), cleanup: async () => undefined };
    }));

  // After the contract: the last test stops etcd.
  describe('replicas', () => {
    it("shows one replica's change to another, and lets only one of two racing replicas take a name", async () => {
      const prefix = `run-${++run}/`;
      const [a, b] = [await replicaOf(prefix), await replicaOf(prefix)];
      const seen = new Promise<number[]>((resolve) => b.onChange((_, vnis) => resolve(vnis.map((v) => v.id))));
      const created = await a.create({ id: 10 });
      assert.deepEqual(await seen, [10]);
      assert.equal(b.get(10).revision, created.revision);
      const results = await Promise.allSettled([
        a.create({ id: 11, name: 'same' }),
        b.create({ id: 12, name: 'same' }),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const refused = results.find((r) => r.status === 'rejected');
      assert.ok(
        refused?.status === 'rejected' && refused.reason instanceof AlreadyExistsError,
        JSON.stringify(refused),
      );
      await Promise.all([a.close(), b.close()]);
    });

    it('follows other replicas from its snapshot even when etcd compacted past the last configuration change', async () => {
      const prefix = `run-${++run}/`;
      const a = await replicaOf(prefix);
      await a.create({ id: 20 });
      // Other keys move etcd's revision on, and compaction drops the history up to now.
      const client = new Etcd3({ hosts: etcd!.endpoint });
      clients.push(client);
      for (let i = 0; i < 3; i++) await client.put(`${prefix}other`).value(String(i));
      const now = await client.get(`${prefix}other`).exec();
      await client.kv.compact({ revision: now.header.revision, physical: true });
      const b = await replicaOf(prefix);
      const seen = new Promise<number[]>((resolve) => b.onChange((_, vnis) => resolve(vnis.map((v) => v.id))));
      await a.create({ id: 21 });
      assert.deepEqual(await seen, [20, 21]);
      await Promise.all([a.close(), b.close()]);
    });

    it('refuses to acknowledge a change while etcd is unreachable', async () => {
      const store = await replicaOf(`run-${++run}/`);
      await store.create({ id: 1 });
      await etcd!.stop();
      etcd = undefined;
      await assert.rejects(store.create({ id: 2 }), StorageUnavailableError);
      assert.deepEqual(
        store.list().map((v) => v.id),
        [1],
      );
      await store.close().catch(() => undefined);
    });
  });
});
