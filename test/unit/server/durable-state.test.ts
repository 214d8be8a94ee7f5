import { strict as assert } from 'node:assert';
import { JoinTokens } from '../../../server/trust/join-tokens';
import { NodeRegistry } from '../../../server/trust/node-registry';
import { BlockStore } from '../../../server/ipam/block-store';
import { VniStore } from '../../../server/vni-store';
import type { VniConfigStore } from '../../../server/vni-config-store';
import { EtcdVniStore } from '../../../server/etcd/etcd-vni-store';
import { EtcdKv } from '../../../server/etcd/etcd-kv';
import { LevelKv } from '../../../server/level-kv';
import type { DurableKv } from '../../../server/durable-kv';
import { StorageUnavailableError } from '../../../server/database';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';
import { requirePrograms } from '../../helpers/require-root';
import { ETCD, LocalEtcd } from '../../../lab/local-etcd';
import { durableKvContract } from './durable-kv-contract';
import { blockStoreContract } from './block-store-contract';
import { enrol, enrolmentContract, text } from './enrolment-contract';
import { eventually } from '../../../lab/eventually';
import { etcdKv, levelKv } from './kv-fixtures';

// A claim is cut from a VNI as the VNI store has it: the guard must hold exactly while the store's
// revision does (both keep it under config/revision, each in its own way).
async function claimsFollowTheVniStore(vnis: VniConfigStore, kv: DurableKv): Promise<void> {
  const blocks = await BlockStore.open(kv);
  await vnis.create({ id: 42, subnet: '10.42.0.0/24' });
  const before = vnis.currentRevision();
  await blocks.claim('h1', vnis.get(42), [], before);
  // Deleted and created again with another subnet, as by another replica.
  await vnis.delete(42);
  await vnis.create({ id: 42, subnet: '10.43.0.0/24' });
  await assert.rejects(blocks.claim('h2', vnis.get(42), [], before), StorageUnavailableError);
  assert.equal(await blocks.prune(vnis.list(), vnis.currentRevision()), 1);
  assert.equal((await blocks.claim('h2', vnis.get(42), [], vnis.currentRevision())).cidr, '10.43.0.0/26');
  await blocks.close();
}

describe('durable state (level)', () => {
  it("guards IPAM claims by the VNI store's revision", async () => {
    const dir = makeTempDir('vni-blocks');
    const vnis = await VniStore.open(dir);
    try {
      await claimsFollowTheVniStore(vnis, new LevelKv(vnis.db));
    } finally {
      await vnis.close();
      removeTempDir(dir);
    }
  });
  describe('key-value seam', () => durableKvContract(async () => levelKv()));
  describe('join tokens and node registry', () => enrolmentContract(async () => levelKv()));
  describe('IPAM blocks', () => blockStoreContract(async () => levelKv()));
});

describe('durable state (etcd)', function () {
  let etcd: LocalEtcd | undefined;
  let run = 0;
  const fixture = () => etcdKv(etcd!.endpoint, `run-${++run}/`);

  before(async function () {
    requirePrograms(this, ETCD);
    etcd = await LocalEtcd.start();
  });
  after(() => etcd?.stop());

  describe('key-value seam', () => durableKvContract(async () => fixture()));
  describe('join tokens and node registry', () => enrolmentContract(async () => fixture()));
  describe('IPAM blocks', () => blockStoreContract(async () => fixture()));

  describe('two replicas', () => {
    let replicas: ReturnType<typeof fixture>;
    beforeEach(() => (replicas = fixture()));
    afterEach(() => replicas.cleanup());

    it("guards IPAM claims by the VNI store's revision", async () => {
      const kv = replicas.replica() as EtcdKv;
      const vnis = await EtcdVniStore.open(kv.etcd, kv.root);
      await claimsFollowTheVniStore(vnis, kv);
      await vnis.close();
    });

    it('lets exactly one of two replicas racing on a one-use token enrol, and shows the node to both', async () => {
      const [a, b] = [replicas.replica(), replicas.replica()];
      const [registryA, registryB] = [await NodeRegistry.open(a), await NodeRegistry.open(b)];
      const [tokensA, tokensB] = [new JoinTokens(a), new JoinTokens(b)];
      const now = Date.now();
      const node = (name: string, vtep: string) => ({
        name,
        vteps: [vtep],
        fingerprint: name,
        notAfterMs: now + 3600_000,
      });
      for (let round = 0; round < 5; round++) {
        const token = text(await tokensA.create({ ttlSeconds: 0, uses: 1, node: '' }));
        const results = await Promise.allSettled([
          enrol(tokensA, registryA, token, node(`a${round}`, `10.0.1.${round}`), now),
          enrol(tokensB, registryB, token, node(`b${round}`, `10.0.2.${round}`), now),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(won, 1, `round ${round}: ${JSON.stringify(results)}`);
        const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.match((lost.reason as Error).message, /unknown or already used up/);
      }
      assert.equal(registryA.names().length, 5);
      await eventually(() =>
        assert.deepEqual(registryB.names().sort(), registryA.names().sort(), 'each replica knows every enrolled node'),
      );
      await Promise.all([registryA.close(), registryB.close()]);
    });

    it('lets only one of two hosts enrolling at once on two replicas take a VTEP', async () => {
      const [a, b] = [replicas.replica(), replicas.replica()];
      const [registryA, registryB] = [await NodeRegistry.open(a), await NodeRegistry.open(b)];
      const tokens = new JoinTokens(a);
      const now = Date.now();
      for (let round = 0; round < 5; round++) {
        const vtep = `10.0.3.${round}`;
        const node = (name: string) => ({ name, vteps: [vtep], fingerprint: name, notAfterMs: now + 3600_000 });
        const [t1, t2] = [
          text(await tokens.create({ ttlSeconds: 0, uses: 1, node: '' })),
          text(await tokens.create({ ttlSeconds: 0, uses: 1, node: '' })),
        ];
        const results = await Promise.allSettled([
          enrol(tokens, registryA, t1, node(`a${round}`), now),
          enrol(new JoinTokens(b), registryB, t2, node(`b${round}`), now),
        ]);
        assert.equal(
          results.filter((r) => r.status === 'fulfilled').length,
          1,
          `round ${round}: ${JSON.stringify(results)}`,
        );
      }
      await eventually(() => assert.equal(registryB.names().length, 5));
      await Promise.all([registryA.close(), registryB.close()]);
    });

    it('gives a block to one of two replicas claiming it, and the other replica its next one', async () => {
      const [a, b] = [await BlockStore.open(replicas.replica()), await BlockStore.open(replicas.replica())];
      const vni = { id: 42, subnet: '10.42.0.0/24' };
      const claims = await Promise.all([a.claim('h1', vni, [], 0), b.claim('h2', vni, [], 0)]);
      assert.notEqual(claims[0].cidr, claims[1].cidr);
      const seen = (store: BlockStore) =>
        store
          .list()
          .map((x) => `${x.node} ${x.cidr}`)
          .sort();
      assert.equal(seen(a).length, 2);
      await eventually(() => assert.deepEqual(seen(b), seen(a)));
      await b.release('h2', vni, claims[1].cidr);
      await a.prune([], 0);
      await eventually(() => assert.deepEqual(seen(b), []));
      await Promise.all([a.close(), b.close()]);
    });
  });

  // Last (mocha runs nested suites in order): it stops etcd.
  describe('cut off', () => {
    it('acknowledges nothing while etcd is unreachable: every write is UNAVAILABLE, may or may not be kept', async () => {
      const replicas = fixture();
      const kv = replicas.replica();
      const [blocks, registry, tokens] = [await BlockStore.open(kv), await NodeRegistry.open(kv), new JoinTokens(kv)];
      const token = text(await tokens.create({ ttlSeconds: 0, uses: 1, node: '' }));
      await etcd!.stop();
      etcd = undefined;
      const node = { name: 'h1', vteps: ['10.0.0.1'], fingerprint: 'f', notAfterMs: Date.now() + 3600_000 };
      for (const write of [
        () => blocks.claim('h1', { id: 42, subnet: '10.42.0.0/24' }, [], 0),
        () => enrol(tokens, registry, token, node, Date.now()),
        () => registry.record(node),
        () => tokens.create({ ttlSeconds: 0, uses: 1, node: '' }),
      ])
        await assert.rejects(
          write(),
          (err: Error) => err instanceof StorageUnavailableError && /may or may not/.test(err.message),
        );
      assert.deepEqual(blocks.list(), []);
      assert.deepEqual(registry.names(), []);
      await replicas.cleanup();
    });
  });
});
