import { strict as assert } from 'node:assert';
import { VniStore } from '../../../server/vni-store';
import { RecordLimitError, ReplicaChange, ReplicaStore, SpoofedRecordError } from '../../../server/replica-store';
import type { StateRecord } from '../../../common/fdb-state/record';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';

const record = (owner: string, mac: string, counter: number): StateRecord => ({
  owner,
  version: { incarnation: 1, counter },
  tombstone: false,
  originTimeMs: 0,
  body: { kind: 'endpoint', vni: 42, mac, ips: [], vtep: `10.0.0.${owner.slice(1)}`, mobilitySeq: 0, origin: 'api' },
});

describe('replica store (server)', () => {
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

  it('refuses a batch that would pass the records an owner may hold, counting batches still queued', async () => {
    const store = await ReplicaStore.open(vnis.db, 16);
    const mac = (i: number) => `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`;
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => record('h1', mac(from + i), 1));
    const queued = [store.merge('h1', '10.0.0.1', batch(0, 10)), store.merge('h1', '10.0.0.1', batch(10, 6))];
    assert.throws(() => void store.merge('h1', '10.0.0.1', batch(16, 1)), RecordLimitError, 'a 17th key, while queued');
    await Promise.all(queued);
    await store.merge('h1', '10.0.0.1', [record('h1', mac(3), 2)]);
    assert.equal(store.versionOf('h1').counter, 2, 'a newer version of a held key still goes in');
    assert.throws(
      () => void store.merge('h1', '10.0.0.1', batch(40, 1)),
      /would hold 17 records; an owner may hold 16/,
    );
    await store.merge('h2', '10.0.0.2', [record('h2', mac(1), 1)]);
    assert.equal(store.overLimit, 2);
    assert.equal(store.size(), 17);
  });

  it('refuses a batch naming another owner or VTEP before anything is written', async () => {
    const store = await ReplicaStore.open(vnis.db);
    assert.throws(() => store.merge('h1', '10.0.0.1', [record('h2', '02:00:00:00:00:09', 1)]), SpoofedRecordError);
    assert.throws(() => store.merge('h1', '10.0.0.9', [record('h1', '02:00:00:00:00:09', 1)]), /its VTEP is 10.0.0.9/);
    assert.equal(store.size(), 0);
    assert.equal(store.spoofed, 2);
  });
});
