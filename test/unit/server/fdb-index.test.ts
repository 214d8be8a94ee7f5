import { strict as assert } from 'node:assert';
import { VniStore } from '../../../server/vni-store';
import { ReplicaStore } from '../../../server/replica-store';
import { FdbChange, FdbIndex, entryOf } from '../../../server/fdb-index';
import type { StateRecord } from '../../../common/fdb-state/record';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';

const VTEP: Record<string, string> = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3' };

function endpoint(
  owner: string,
  mac: string,
  seq: number,
  counter: number,
  tombstone = false,
  frozen = false,
): StateRecord {
  return {
    owner,
    version: { incarnation: 1, counter },
    tombstone,
    originTimeMs: 0,
    body: {
      kind: 'endpoint',
      vni: 42,
      mac,
      ips: [],
      vtep: VTEP[owner],
      mobilitySeq: seq,
      origin: 'api',
      ...(frozen ? { frozen: true as const } : {}),
    },
  };
}

function membership(owner: string, counter: number, tombstone = false): StateRecord {
  return {
    owner,
    version: { incarnation: 1, counter },
    tombstone,
    originTimeMs: 0,
    body: { kind: 'membership', vni: 42, vtep: VTEP[owner] },
  };
}

describe('FDB index (server)', () => {
  let dir: string;
  let vnis: VniStore;
  let replicas: ReplicaStore;
  let index: FdbIndex;
  let changes: FdbChange[];
  const dead = new Set<string>();

  beforeEach(async () => {
    dir = makeTempDir('fdb-index');
    vnis = await VniStore.open(dir);
    replicas = await ReplicaStore.open(vnis.db);
    dead.clear();
    index = new FdbIndex(replicas, (owner) => !dead.has(owner));
    changes = [];
    index.on('change', (c) => changes.push(c));
  });
  afterEach(async () => {
    await vnis.close();
    removeTempDir(dir);
  });

  it('announces a MAC once, moves it to the higher mobility sequence and withdraws it on tombstone', async () => {
    await replicas.merge('a', VTEP.a, [endpoint('a', '02:00:00:00:00:01', 0, 1)]);
    await replicas.merge('b', VTEP.b, [endpoint('b', '02:00:00:00:00:01', 1, 1)]);
    await replicas.merge('a', VTEP.a, [endpoint('a', '02:00:00:00:00:01', 0, 2, true)]);
    await replicas.merge('b', VTEP.b, [endpoint('b', '02:00:00:00:00:01', 1, 2, true)]);
    assert.deepEqual(
      changes.map((c) => [c.revision, c.before?.node, c.after?.node]),
      [
        [1, undefined, 'a'],
        [2, 'a', 'b'],
        [4, 'b', undefined],
      ],
      'the losing claim withdrawn at revision 3 changes nothing served',
    );
    assert.equal(index.lookup(42, '02:00:00:00:00:01'), undefined);
  });

  it('withdraws a dead owner’s entries and restores them (on any node’s event), each change with its own revision', async () => {
    await replicas.merge('a', VTEP.a, [
      membership('a', 1),
      endpoint('a', '02:00:00:00:00:01', 0, 2),
      endpoint('a', '02:00:00:00:00:02', 0, 3),
    ]);
    await replicas.merge('b', VTEP.b, [endpoint('b', '02:00:00:00:00:02', 0, 1)]);
    assert.equal(index.lookup(42, '02:00:00:00:00:02')?.node, 'a', 'equal sequences: the lower owner name wins');
    changes = [];
    dead.add('a');
    index.nodeStateChanged('a');
    index.nodeStateChanged('a');
    assert.equal(
      changes.length,
      3,
      'flood and MAC withdrawn, the contested MAC moves to b; a repeated report changes nothing',
    );
    assert.deepEqual(
      changes.map((c) => c.revision),
      [5, 6, 7],
    );
    assert.equal(index.lookup(42, '02:00:00:00:00:02')?.node, 'b');
    assert.equal(index.lookup(42, '02:00:00:00:00:01'), undefined);
    dead.delete('a');
    index.nodeStateChanged('c');
    assert.equal(index.sorted().size, 3);
    assert.equal(index.lookup(42, '02:00:00:00:00:02')?.node, 'a');
    assert.deepEqual(
      index.changesAfter(6, 10).map((c) => c.revision),
      [7, 8, 9, 10],
    );
  });

  it('serves a MAC frozen by a losing claimant as frozen, at the winner the hosts program, and lists it', async () => {
    const mac = '02:00:00:00:00:0f';
    await replicas.merge('a', VTEP.a, [endpoint('a', mac, 4, 1)]);
    await replicas.merge('b', VTEP.b, [endpoint('b', mac, 5, 1)]);
    changes = [];
    await replicas.merge('a', VTEP.a, [endpoint('a', mac, 4, 2, false, true)]);
    assert.deepEqual(index.lookup(42, mac), { ...index.lookup(42, mac), node: 'b', vtep: VTEP.b, frozen: true });
    assert.equal(changes.length, 1, 'the freeze alone is a change watchers see');
    assert.deepEqual([changes[0].before?.frozen, changes[0].after?.frozen], [false, true]);
    const [dup] = index.duplicates();
    assert.equal(dup.entry.node, 'b');
    assert.deepEqual(dup.claims.map((c) => [c.owner, c.body.frozen === true]).sort(), [
      ['a', true],
      ['b', false],
    ]);
    await replicas.merge('a', VTEP.a, [endpoint('a', mac, 4, 3)]);
    assert.equal(index.lookup(42, mac)?.frozen, false, 'thawed');
    assert.deepEqual(index.duplicates(), []);
  });

  it('rebuilds the same table from the persisted records after a restart', async () => {
    await replicas.merge('a', VTEP.a, [membership('a', 1), endpoint('a', '02:00:00:00:00:01', 0, 2)]);
    await replicas.merge('c', VTEP.c, [membership('c', 1), endpoint('c', '02:00:00:00:00:03', 0, 2)]);
    const entries = (i: FdbIndex) => i.sorted().valuesArray().map(entryOf);
    const before = entries(index);
    const reopened = new FdbIndex(await ReplicaStore.open(vnis.db), () => true);
    assert.deepEqual(entries(reopened), before);
    assert.deepEqual(
      before.map((e) => [e.vni, e.mac, e.node]),
      [
        [42, '00:00:00:00:00:00', 'a'],
        [42, '00:00:00:00:00:00', 'c'],
        [42, '02:00:00:00:00:01', 'a'],
        [42, '02:00:00:00:00:03', 'c'],
      ],
      'sorted as listings are: VNI, MAC, then the node of a flood entry',
    );
    assert.ok(reopened.oldestResumableRevision() >= 4, 'nothing before the restart can be replayed');
  });
});
