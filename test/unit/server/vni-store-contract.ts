import { strict as assert } from 'node:assert';
import { AlreadyExistsError, NotFoundError, StaleRevisionError } from '../../../server/vni-changes';
import type { VniConfigStore } from '../../../server/vni-config-store';
import { ValidationError } from '../../../common/validation';

// Where a store under test keeps its data: open() may be called again after close() and must find
// everything the earlier store acknowledged.
export interface StoreFixture {
  open(): Promise<VniConfigStore>;
  cleanup(): Promise<void>;
}

// What every VNI configuration store must do, whatever keeps the data. Revisions are only compared:
// etcd's come from a keyspace shared with other data, so their values are not 1, 2, 3.
export function vniStoreContract(makeFixture: () => Promise<StoreFixture>): void {
  let fixture: StoreFixture;
  let store: VniConfigStore;
  const reopen = async () => {
    await store.close();
    store = await fixture.open();
  };
  beforeEach(async () => {
    fixture = await makeFixture();
    store = await fixture.open();
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    await fixture.cleanup();
  });

  it('assigns increasing revisions and survives reopening', async () => {
    const start = store.currentRevision();
    const a = await store.create({ id: 1 });
    const b = await store.create({ id: 2, name: 'two' });
    const c = await store.update({ id: 1, mtu: 1400 }, ['mtu'], 0);
    const d = await store.delete(2);
    assert.ok(start < a.revision && a.revision < b.revision && b.revision < c.revision && c.revision < d);
    assert.equal(store.currentRevision(), d);
    await reopen();
    assert.equal(store.currentRevision(), d);
    assert.deepEqual(
      store.list().map((v) => [v.id, v.mtu, v.revision]),
      [[1, 1400, c.revision]],
    );
  });

  it('raises typed errors for conflicts, unknowns and stale revisions', async () => {
    await store.create({ id: 7 });
    await assert.rejects(store.create({ id: 7 }), AlreadyExistsError);
    await assert.rejects(store.create({ id: 8, name: 'vni-7' }), AlreadyExistsError);
    assert.throws(() => store.get(9), NotFoundError);
    await assert.rejects(store.delete(9), NotFoundError);
    await assert.rejects(store.update({ id: 7, mtu: 1400 }, ['mtu'], 99), StaleRevisionError);
    await assert.rejects(store.update({ id: 7 }, [], 0), ValidationError);
    await assert.rejects(store.update({ id: 7, dstport: 1 }, ['dstport'], 0), ValidationError);
  });

  it('compares and swaps on expected_revision', async () => {
    const created = await store.create({ id: 5 });
    const updated = await store.update({ id: 5, mtu: 1300 }, ['mtu'], created.revision);
    assert.equal(store.get(5).revision, updated.revision);
    await assert.rejects(
      store.update({ id: 5, mtu: 1200 }, ['mtu'], created.revision),
      new RegExp(`VNI 5 is at revision ${updated.revision}, not ${created.revision}`),
    );
    assert.equal(store.get(5).mtu, 1300);
  });

  it('notifies listeners with the whole configuration on every change', async () => {
    const seen: Array<[number, number[]]> = [];
    store.onChange((revision, vnis) => seen.push([revision, vnis.map((v) => v.id)]));
    const a = await store.create({ id: 3 });
    const b = await store.create({ id: 1 });
    const c = await store.delete(3);
    assert.deepEqual(seen, [
      [a.revision, [3]],
      [b.revision, [1, 3]],
      [c, [1]],
    ]);
  });

  it('keeps revocations under the configuration revision', async () => {
    const vni = await store.create({ id: 9 });
    const { revision, revokedAtMs } = await store.revoke('node-a');
    assert.ok(revision > vni.revision);
    await reopen();
    assert.equal(store.currentRevision(), revision);
    assert.deepEqual(store.revocations(), [{ node: 'node-a', revokedAtMs }]);
  });

  it("keeps an l3 VNI's datapath, changes it on update where its port allows, and refuses it for l2", async () => {
    const a = await store.create({ id: 100, mode: 'l3', subnet: '10.100.0.0/24', datapath: 'bpf' });
    assert.equal(a.datapath, 'bpf');
    await assert.rejects(
      store.create({ id: 200, mode: 'l3', subnet: '10.200.0.0/24' }),
      /datapath: UDP port 8472 is used by l3 VNI 100 on the bpf datapath/,
    );
    const b = await store.create({ id: 200, mode: 'l3', subnet: '10.200.0.0/24', dstport: 4790 });
    assert.equal(b.datapath, 'lwt');
    assert.equal((await store.update({ id: 100, datapath: 'lwt' }, ['datapath'], 0)).datapath, 'lwt');
    await store.create({ id: 300, mode: 'l3', subnet: '10.30.0.0/24' });
    // Two VNIs on 8472 now: one cannot move alone.
    await assert.rejects(
      store.update({ id: 100, datapath: 'bpf' }, ['datapath'], 0),
      /datapath: UDP port 8472 is used by l3 VNI 300 on the lwt datapath/,
    );
    await store.create({ id: 42 });
    await assert.rejects(
      store.update({ id: 42, datapath: 'bpf' }, ['datapath'], 0),
      /datapath: VNI 42 is l2: a datapath applies to l3 VNIs only/,
    );
    await reopen();
    assert.deepEqual(
      store.list().map((v) => [v.id, v.datapath]),
      [
        [42, ''],
        [100, 'lwt'],
        [200, 'lwt'],
        [300, 'lwt'],
      ],
    );
  });
}
