import { strict as assert } from 'node:assert';
import { Etcd3 } from 'etcd3';
import { readPrefix } from '../../../server/etcd/read-prefix';
import { ETCD, LocalEtcd } from '../../../lab/local-etcd';
import { requirePrograms } from '../../helpers/require-root';

// A replica restarting with 100,000 records read them in one Range of 29 MB, which gRPC refused (its
// default limit is 4 MiB), and the replica could not start (found by bench/watch-fanout on etcd).
describe('reading a prefix from etcd', function () {
  this.timeout(60_000);
  let etcd: LocalEtcd | undefined;
  let client: Etcd3 | undefined;

  before(async function () {
    requirePrograms(this, ETCD);
    etcd = await LocalEtcd.start();
    client = new Etcd3({ hosts: etcd.endpoint });
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });

  it('reads more than one gRPC message holds, page by page, as one snapshot', async () => {
    const value = 'x'.repeat(2_000);
    const keys = Array.from({ length: 3_000 }, (_, i) => `big/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 100)
      await client!
        .if(keys[i], 'Mod', '>', -1)
        .then(...keys.slice(i, i + 100).map((k) => client!.put(k).value(value)))
        .commit();
    await client!.put('bigger').value('outside the prefix');
    // Another client: the refusal counts against a client's circuit breaker.
    const whole = new Etcd3({ hosts: etcd!.endpoint });
    await assert.rejects(whole.getAll().prefix('big/').exec(), /larger than max/, 'one Range is too big now');
    whole.close();

    const { kvs, revision } = await readPrefix(client!, 'big/');
    assert.deepEqual(
      kvs.map((kv) => kv.key.toString()),
      keys,
    );
    const latest = await client!.get('bigger').exec();
    assert.ok(revision < Number(latest.header.revision) + 1 && revision > 0);
  });
});
