import { strict as assert } from 'node:assert';
import type { StateRecord } from '../../../common/fdb-state/record';
import {
  RecordLimitError,
  SpoofedRecordError,
  type RecordStore,
  type ReplicaChange,
} from '../../../server/record-store';

export const record = (owner: string, mac: string, counter: number): StateRecord => ({
  owner,
  version: { incarnation: 1, counter },
  tombstone: false,
  originTimeMs: 0,
  body: { kind: 'endpoint', vni: 42, mac, ips: [], vtep: `10.0.0.${owner.slice(1)}`, mobilitySeq: 0, origin: 'api' },
});

// open() may be called again and must find everything acknowledged before.
export interface RecordStoreFixture {
  open(maxRecordsPerOwner?: number): Promise<RecordStore>;
  // A store that numbers changes one by one says in which order the first test's changes come.
  emissionOrder?: Array<[owner: string, counter: number, before: number | undefined]>;
  cleanup(): Promise<void>;
}

const macs = (store: RecordStore, owner: string) =>
  store
    .recordsOf(owner)
    .map((r) => [r.body.kind === 'endpoint' && r.body.mac, r.version.counter, r.tombstone])
    .sort();

// What every record store must do, whatever keeps the records. Revisions are only compared: etcd's
// are etcd's, shared with other keys, so their values are not 1, 2, 3.
export function recordStoreContract(makeFixture: () => Promise<RecordStoreFixture>): void {
  let fixture: RecordStoreFixture;
  beforeEach(async () => (fixture = await makeFixture()));
  afterEach(() => fixture.cleanup());

  it('acknowledges each batch with its newest durable version, drops stale versions, emits changes in revision order', async () => {
    const store = await fixture.open();
    const changes: ReplicaChange[] = [];
    store.on('change', (c) => changes.push(c));
    const acks = await Promise.all([
      store.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 1), record('h1', '02:00:00:00:00:02', 2)]),
      store.merge('h2', '10.0.0.2', [record('h2', '02:00:00:00:00:03', 1)]),
      store.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 3), record('h1', '02:00:00:00:00:01', 2)]),
    ]);
    assert.deepEqual(
      acks.map((v) => v.counter),
      [2, 1, 3],
    );
    assert.deepEqual(
      changes.map((c) => [c.after.owner, c.after.version.counter, c.before?.version.counter]).sort(),
      [
        ['h1', 1, undefined],
        ['h1', 2, undefined],
        ['h1', 3, 1],
        ['h2', 1, undefined],
      ],
      'the stale version 2 of a key already at 3 is dropped',
    );
    if (fixture.emissionOrder) {
      assert.deepEqual(
        changes.map((c) => [c.after.owner, c.after.version.counter, c.before?.version.counter]),
        fixture.emissionOrder,
      );
      assert.deepEqual(
        changes.map((c) => c.revision - changes[0].revision),
        [0, 1, 2, 3],
      );
    }
    const revisions = changes.map((c) => c.revision);
    assert.deepEqual(
      revisions,
      [...revisions].sort((a, b) => a - b),
    );
    assert.equal(new Set(revisions).size, revisions.length, 'every change has a revision of its own');
    assert.equal(store.currentRevision(), revisions.at(-1));
    assert.deepEqual(
      store.changesAfter(revisions[0], 10).map((c) => c.revision),
      revisions.slice(1),
    );
    const reopened = await fixture.open();
    assert.ok(reopened.currentRevision() >= store.currentRevision(), 'no revision handed out again');
    assert.deepEqual(macs(reopened, 'h1'), [
      ['02:00:00:00:00:01', 3, false],
      ['02:00:00:00:00:02', 2, false],
    ]);
    assert.deepEqual(reopened.ownerNames().sort(), ['h1', 'h2']);
  });

  it('refuses a batch that would pass the records an owner may hold, counting batches still queued', async () => {
    const store = await fixture.open(16);
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
    const store = await fixture.open();
    assert.throws(() => store.merge('h1', '10.0.0.1', [record('h2', '02:00:00:00:00:09', 1)]), SpoofedRecordError);
    assert.throws(() => store.merge('h1', '10.0.0.9', [record('h1', '02:00:00:00:00:09', 1)]), /its VTEP is 10.0.0.9/);
    assert.equal(store.size(), 0);
    assert.equal(store.spoofed, 2);
  });

  it("forgets a revoked node's records: watchers see each go as a tombstone, and they stay gone", async () => {
    const store = await fixture.open();
    await store.merge('h1', '10.0.0.1', [record('h1', '02:00:00:00:00:01', 1), record('h1', '02:00:00:00:00:02', 1)]);
    await store.merge('h2', '10.0.0.2', [record('h2', '02:00:00:00:00:03', 1)]);
    const gone: ReplicaChange[] = [];
    store.on('change', (c) => gone.push(c));
    assert.equal(await store.forget('h1'), 2);
    assert.deepEqual(
      gone.map((c) => [c.after.owner, c.after.tombstone, c.before?.tombstone]),
      [
        ['h1', true, false],
        ['h1', true, false],
      ],
    );
    assert.deepEqual(store.recordsOf('h1'), []);
    const reopened = await fixture.open();
    assert.deepEqual(reopened.ownerNames(), ['h2']);
  });
}
