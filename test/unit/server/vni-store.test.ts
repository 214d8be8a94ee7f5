import { strict as assert } from 'node:assert';
import { VniStore } from '../../../server/vni-store';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';
import { vniStoreContract } from './vni-store-contract';

describe('VNI store (level)', () => {
  describe('contract', () =>
    vniStoreContract(async () => {
      const dir = makeTempDir('store');
      return { open: () => VniStore.open(dir), cleanup: async () => removeTempDir(dir) };
    }));

  it('numbers revisions 1, 2, 3 in a database of its own', async () => {
    const dir = makeTempDir('store');
    const store = await VniStore.open(dir);
    try {
      assert.equal((await store.create({ id: 1 })).revision, 1);
      assert.equal((await store.create({ id: 2 })).revision, 2);
      assert.equal(await store.delete(2), 3);
      assert.equal(store.currentRevision(), 3);
    } finally {
      await store.close();
      removeTempDir(dir);
    }
  });
});
