import { strict as assert } from 'node:assert';
import type { DurableKv, KvEntry } from '../../../server/durable-kv';
import type { KvFixture } from './kv-fixtures';

// What the durable key-value seam must do on every store: guarded writes are all or nothing, and a
// follower hears every change in commit order before the write that made it resolves.
export function durableKvContract(makeFixture: () => Promise<KvFixture>): void {
  let fixture: KvFixture;
  let kv: DurableKv;
  beforeEach(async () => {
    fixture = await makeFixture();
    kv = await fixture.open();
  });
  afterEach(() => fixture.cleanup());

  const values = (entries: KvEntry[]) => entries.map((e) => `${e.key}=${e.value}`);

  it('writes all of a batch or, when a guard does not hold, nothing', async () => {
    assert.equal(
      await kv.write([{ type: 'put', key: 'nodes/a', value: '1' }], [{ key: 'nodes/a', version: undefined }]),
      true,
    );
    const a = (await kv.get('nodes/a'))!;
    assert.equal(a.value, '1');
    // "absent" no longer holds: nothing of the batch is written.
    const refused = await kv.write(
      [
        { type: 'put', key: 'nodes/a', value: '2' },
        { type: 'put', key: 'nodes/b', value: '2' },
      ],
      [{ key: 'nodes/a', version: undefined }],
    );
    assert.equal(refused, false);
    assert.deepEqual(values(await kv.range('nodes/')), ['nodes/a=1']);
    assert.equal(
      await kv.write([{ type: 'put', key: 'nodes/a', value: '3' }], [{ key: 'nodes/a', version: a.version }]),
      true,
    );
    assert.equal(
      await kv.write([{ type: 'del', key: 'nodes/a' }], [{ key: 'nodes/a', version: a.version }]),
      false,
      'a stale version',
    );
    assert.equal(await kv.get('nodes/b'), undefined);
  });

  it('keeps what it acknowledged across a reopen, each prefix to itself', async () => {
    await kv.write([
      { type: 'put', key: 'nodes/a', value: 'x' },
      { type: 'put', key: 'tokens/t', value: 'y' },
      { type: 'put', key: 'blocks/00000001/1', value: 'z' },
      { type: 'put', key: 'pki/ca.crt', value: 'w' },
    ]);
    await fixture.close();
    kv = await fixture.open();
    assert.deepEqual(values(await kv.range('nodes/')), ['nodes/a=x']);
    assert.deepEqual(values(await kv.range('tokens/')), ['tokens/t=y']);
    assert.deepEqual(values(await kv.range('blocks/')), ['blocks/00000001/1=z']);
    assert.equal((await kv.get('pki/ca.crt'))?.value, 'w');
  });

  it('tells a follower what is there, then every change before the write resolves', async () => {
    await kv.write([{ type: 'put', key: 'nodes/a', value: '1' }]);
    let memory = new Map<string, string>();
    const follower = await kv.follow('nodes/', {
      reset: (entries) => (memory = new Map(entries.map((e) => [e.key, e.value]))),
      change: (key, entry) => (entry ? memory.set(key, entry.value) : memory.delete(key)),
    });
    assert.deepEqual([...memory], [['nodes/a', '1']]);
    await kv.write([
      { type: 'put', key: 'nodes/b', value: '2' },
      { type: 'del', key: 'nodes/a' },
      { type: 'put', key: 'tokens/x', value: 'not followed' },
    ]);
    assert.deepEqual([...memory], [['nodes/b', '2']]);
    await follower.resync();
    assert.deepEqual([...memory], [['nodes/b', '2']]);
    await follower.close();
  });

  it("guards a write planned on a follower's whole memory until anything under its prefix changes", async () => {
    const follower = await kv.follow('nodes/', { reset: () => undefined, change: () => undefined });
    const before = follower.unchanged();
    await kv.write([{ type: 'put', key: 'tokens/x', value: 'elsewhere' }]);
    assert.equal(
      await kv.write([{ type: 'put', key: 'nodes/a', value: '1' }], [before]),
      true,
      'nothing under nodes/ changed',
    );
    assert.equal(
      await kv.write([{ type: 'put', key: 'nodes/b', value: '2' }], [before]),
      false,
      'nodes/a changed since',
    );
    assert.equal(await kv.write([{ type: 'put', key: 'nodes/b', value: '2' }], [follower.unchanged()]), true);
    assert.deepEqual(values(await kv.range('nodes/')), ['nodes/a=1', 'nodes/b=2']);
    await follower.close();
  });
}
