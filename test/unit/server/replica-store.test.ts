import { strict as assert } from 'node:assert';
import { VniStore } from '../../../server/vni-store';
import { ReplicaChange, ReplicaStore } from '../../../server/replica-store';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';
import { record, recordStoreContract } from './record-store-contract';

describe('replica store (server)', () => {
  describe('contract (level)', () =>
    recordStoreContract(async () => {
      const dir = makeTempDir('replicas');
      const vnis = await VniStore.open(dir);
      return {
        open: (max?: number) => ReplicaStore.open(vnis.db, max),
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

  it('commits concurrent batches together: each acknowledged with its own newest version, revisions in emission order, all durable', async () => {
    const store = await ReplicaStore.open(vnis.db);
    const changes: ReplicaChange[] = [];
    store.on('change', (c) => changes.push(c));
    const acks = await Promise.all([
      store.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 1), record('h1', '02:00:00:00:00:02', 2)]),
      store.merge('h2', '10.0.0.2', [record('h2', '02:00:00:00:00:03', 1)]),
      store.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 3), record('h1', '02:00:00:00:00:01', 2)]),
    ]);
    // The first batch is written alone; the two that arrive during its sync go in one write.
    assert.deepEqual(
      acks.map((v) => v.counter),
      [2, 1, 3],
      "each ack is the agent's newest durable version",
    );
    assert.deepEqual(
      changes.map((c) => [c.revision, c.after.owner, c.after.version.counter, c.before?.version.counter]),
      [
        [1, 'h1', 1, undefined],
        [2, 'h1', 2, undefined],
        [3, 'h2', 1, undefined],
        [4, 'h1', 3, 1],
      ],
      'the stale version 2 of a key already at 3 is dropped',
    );
    const reopened = await ReplicaStore.open(vnis.db);
    assert.ok(reopened.currentRevision() >= 4, 'no revision handed out again');
    assert.deepEqual(
      reopened
        .recordsOf('h1')
        .map((r) => [r.body.kind === 'endpoint' && r.body.mac, r.version.counter])
        .sort(),
      [
        ['02:00:00:00:00:01', 3],
        ['02:00:00:00:00:02', 2],
      ],
    );
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
