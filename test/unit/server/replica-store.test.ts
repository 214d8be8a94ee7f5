import { strict as assert } from 'node:assert';
import { VniStore } from '../../../server/vni-store';
import { ReplicaStore } from '../../../server/replica-store';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';
import { record, recordStoreContract } from './record-store-contract';

describe('replica store (server)', () => {
  describe('contract (level)', () =>
    recordStoreContract(async () => {
      const dir = makeTempDir('replicas');
      const vnis = await VniStore.open(dir);
      return {
        open: (max?: number) => ReplicaStore.open(vnis.db, max),
        // One write at a time, revisions one by one: the first batch is written alone, the two that
        // arrive during its sync go in one write.
        emissionOrder: [
          ['h1', 1, undefined],
          ['h1', 2, undefined],
          ['h2', 1, undefined],
          ['h1', 3, 1],
        ],
        cleanup: async () => {
          await vnis.close();
          removeTempDir(dir);
        },
      };
    }));

  let dir: string;
  let vnis: VniStore;

  beforeEach(async () => {
    dir = makeTempDir('replicas');
    vnis = await VniStore.open(dir);
  });
  afterEach(async () => {
    await vnis.close();
    removeTempDir(dir);
  });

  it('never hands out a revision again after a restart, liveness revisions included (kept in memory only)', async () => {
    const store = await ReplicaStore.open(vnis.db);
    await store.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 1)]);
    let seen = 0;
    for (let i = 0; i < 3; i++) seen = store.advanceRevision();
    // A crash here: nothing was written since the liveness revisions were handed out.
    const reopened = await ReplicaStore.open(vnis.db);
    assert.ok(reopened.currentRevision() >= seen, `${reopened.currentRevision()} is below ${seen}, a revision seen`);
    assert.ok(reopened.oldestResumableRevision() >= seen, 'a watch from before the restart starts over');
    await reopened.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 2)]);
    assert.ok(reopened.currentRevision() > seen);
  });
});
