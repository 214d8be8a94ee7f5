import { strict as assert } from 'node:assert';
import { AlreadyExistsError, NotFoundError, StaleRevisionError, VniStore } from '../../../server/vni-store';
import { ValidationError } from '../../../common/validation';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';

describe('VNI store (level)', () => {
  let dir: string;
  let store: VniStore;
  beforeEach(async () => {
    dir = makeTempDir('store');
    store = await VniStore.open(dir);
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    removeTempDir(dir);
  });

  it('assigns increasing revisions and survives reopening', async () => {
    const a = await store.create({ id: 1 });
    const b = await store.create({ id: 2, name: 'two' });
    assert.equal(a.revision, 1);
    assert.equal(b.revision, 2);
    await store.update({ id: 1, mtu: 1400 }, ['mtu'], 0);
    await store.delete(2);
    await store.close();
    store = await VniStore.open(dir);
    assert.equal(store.currentRevision(), 4);
    assert.deepEqual(
      store.list().map((v) => [v.id, v.mtu]),
      [[1, 1400]],
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

  it('notifies listeners with the whole configuration on every change', async () => {
    const seen: Array<[number, number[]]> = [];
    store.onChange((revision, vnis) => seen.push([revision, vnis.map((v) => v.id)]));
    await store.create({ id: 3 });
    await store.create({ id: 1 });
    await store.delete(3);
    assert.deepEqual(seen, [
      [1, [3]],
      [2, [1, 3]],
      [3, [1]],
    ]);
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
    await store.close();
    store = await VniStore.open(dir);
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
});
