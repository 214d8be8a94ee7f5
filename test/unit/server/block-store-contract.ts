import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { BlockStore } from '../../../server/ipam/block-store';
import { RpcError } from '../../../server/grpc-errors';
import type { KvFixture } from './kv-fixtures';
import type { DurableKv } from '../../../server/durable-kv';
import { StorageUnavailableError } from '../../../server/database';

const VNI = { id: 42, subnet: '10.42.0.0/24' };
const rpcCode = (code: grpc.status) => (err: unknown) => err instanceof RpcError && err.code === code;

// What the IPAM block store must do on every durable store.
export function blockStoreContract(makeFixture: () => Promise<KvFixture>): void {
  let fixture: KvFixture;
  let kv: DurableKv;
  let blocks: BlockStore;
  const open = async (maxPerNode?: number) => {
    kv = await fixture.open();
    blocks = await BlockStore.open(kv, maxPerNode);
  };
  const reopen = async (maxPerNode?: number) => {
    await blocks.close();
    await fixture.close();
    await open(maxPerNode);
  };
  beforeEach(async () => {
    fixture = await makeFixture();
    await open();
  });
  afterEach(async () => {
    await blocks.close().catch(() => undefined);
    await fixture.cleanup();
  });

  it('never gives one block to two nodes, also when they claim at once', async () => {
    const claims = await Promise.all(['h1', 'h2', 'h3', 'h4'].map((n) => blocks.claim(n, VNI, [], 0)));
    const cidrs = claims.map((b) => b.cidr);
    assert.equal(new Set(cidrs).size, 4, `four claims, four blocks: ${cidrs.join(' ')}`);
    assert.deepEqual(
      blocks.list().map((b) => `${b.node} ${b.cidr}`),
      ['h1 10.42.0.0/26', 'h2 10.42.0.64/26', 'h3 10.42.0.128/26', 'h4 10.42.0.192/26'],
    );
    await assert.rejects(blocks.claim('h5', VNI, [], 0), (err: unknown) => {
      assert.ok(rpcCode(grpc.status.RESOURCE_EXHAUSTED)(err));
      assert.match((err as Error).message, /subnet 10\.42\.0\.0\/24 of VNI 42 is exhausted/);
      return true;
    });
  });

  it('keeps every acknowledged block across a reopen', async () => {
    const a = await blocks.claim('h1', VNI, [], 0);
    const b = await blocks.claim('h2', { id: 7, subnet: '2001:db8::/64' }, [], 0);
    await reopen();
    assert.deepEqual(
      blocks.list().map((x) => [x.vni, x.cidr, x.node]),
      [
        [7, b.cidr, 'h2'],
        [42, a.cidr, 'h1'],
      ],
    );
    assert.equal(
      (await blocks.claim('h3', VNI, [], 0)).cidr,
      '10.42.0.64/26',
      'the stored block is not handed out again',
    );
  });

  it('hands a node the block it holds but does not know of (a lost answer) before a new one', async () => {
    const first = await blocks.claim('h1', VNI, [], 0);
    assert.equal((await blocks.claim('h1', VNI, [], 0)).cidr, first.cidr);
    assert.notEqual((await blocks.claim('h1', VNI, [first.cidr], 0)).cidr, first.cidr);
  });

  it('bounds the blocks one node holds in a VNI', async () => {
    await reopen(2);
    const big = { id: 9, subnet: '10.9.0.0/16' };
    const a = await blocks.claim('h1', big, [], 0);
    const b = await blocks.claim('h1', big, [a.cidr], 0);
    await assert.rejects(blocks.claim('h1', big, [a.cidr, b.cidr], 0), (err: unknown) => {
      assert.ok(rpcCode(grpc.status.RESOURCE_EXHAUSTED)(err));
      assert.match((err as Error).message, /node h1 holds 2 blocks of VNI 9, the most one host may/);
      return true;
    });
    await blocks.claim('h2', big, [], 0);
  });

  it('lets only the holder release a block, and frees it for others once it has', async () => {
    const a = await blocks.claim('h1', VNI, [], 0);
    await assert.rejects(blocks.release('h2', VNI, a.cidr), (err: unknown) => {
      assert.ok(rpcCode(grpc.status.PERMISSION_DENIED)(err));
      assert.match((err as Error).message, /held by node h1, not h2/);
      return true;
    });
    assert.equal(blocks.list()[0].node, 'h1');
    await blocks.release('h1', VNI, a.cidr);
    await assert.rejects(blocks.release('h1', VNI, a.cidr), rpcCode(grpc.status.NOT_FOUND));
    assert.equal((await blocks.claim('h2', VNI, [], 0)).cidr, a.cidr);
  });

  it('refuses a VNI without a subnet and a CIDR that is not a block', async () => {
    await assert.rejects(blocks.claim('h1', { id: 5, subnet: '' }, [], 0), rpcCode(grpc.status.FAILED_PRECONDITION));
    await assert.rejects(blocks.release('h1', VNI, '10.42.0.32/26'), /not a \/26 block of 10\.42\.0\.0\/24/);
  });

  it("drops a deleted VNI's blocks, and those of a VNI created again with another subnet, durably", async () => {
    await blocks.claim('h1', VNI, [], 0);
    await blocks.claim('h1', { id: 43, subnet: '10.43.0.0/24' }, [], 0);
    await blocks.claim('h1', { id: 44, subnet: '10.44.0.0/24' }, [], 0);
    assert.equal(await blocks.prune([VNI, { id: 44, subnet: '10.144.0.0/24' }], 0), 2);
    await reopen();
    assert.deepEqual(
      blocks.list().map((b) => b.vni),
      [42],
    );
  });

  it('says which node holds the block of an address', async () => {
    await blocks.claim('h1', VNI, [], 0);
    assert.equal(blocks.holderOf(VNI, '10.42.0.9/24')?.node, 'h1');
    assert.equal(blocks.holderOf(VNI, '10.42.0.99/24'), undefined);
  });

  it('claims and prunes only against the configuration as it is now, not as it was', async () => {
    // Another replica changed the VNI configuration: what was read before may be stale.
    await kv.write([{ type: 'put', key: 'config/revision', value: '7' }]);
    const now = Number((await kv.get('config/revision'))!.version);
    await assert.rejects(blocks.claim('h1', VNI, [], 0), StorageUnavailableError);
    const a = await blocks.claim('h1', VNI, [], now);
    await assert.rejects(blocks.prune([], 0), StorageUnavailableError);
    assert.deepEqual(blocks.list(), [a]);
    assert.equal(await blocks.prune([], now), 1);
  });
}
