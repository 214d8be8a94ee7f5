import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openClusterPki, type ClusterPki } from '../../../server/trust/cluster-pki';
import type { DurableKv } from '../../../server/durable-kv';
import { createLogger } from '../../../common/log';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';
import { requirePrograms } from '../../helpers/require-root';
import { ETCD, LocalEtcd } from '../../../lab/local-etcd';
import { eventually } from '../../../lab/eventually';
import { etcdKv } from './kv-fixtures';

const log = createLogger({ component: 'test', level: 'error', write: () => undefined });

describe('cluster PKI shared by server replicas (etcd)', function () {
  let etcd: LocalEtcd | undefined;
  let replicas: ReturnType<typeof etcdKv>;
  let dirs: string[] = [];
  let run = 0;

  const replica = (kv: DurableKv): Promise<ClusterPki> => {
    const dataDir = makeTempDir('pki');
    dirs.push(dataDir);
    return openClusterPki({ dataDir, listenHost: '127.0.0.1', sans: [], shared: kv, log });
  };
  const signerOf = (pki: ClusterPki) => pki.signer.certificateDer.toString('base64');

  before(async function () {
    requirePrograms(this, ETCD);
    etcd = await LocalEtcd.start();
  });
  after(() => etcd?.stop());
  beforeEach(() => (replicas = etcdKv(etcd!.endpoint, `pki-${++run}/`)));
  afterEach(async () => {
    await replicas.cleanup();
    for (const dir of dirs) removeTempDir(dir);
    dirs = [];
  });

  it('gives replicas starting at once, and a restarted one, the same CA, signer and keyring', async () => {
    const [a, b] = await Promise.all([replica(replicas.replica()), replica(replicas.replica())]);
    const c = await replica(replicas.replica());
    for (const other of [b, c]) {
      assert.equal(other.ca.fingerprint, a.ca.fingerprint);
      assert.equal(signerOf(other), signerOf(a));
      assert.deepEqual(other.keyring.keys(), a.keyring.keys());
      // Each replica its own TLS key, for its own addresses, from the shared CA.
      assert.notEqual(other.tls.keyPem, a.tls.keyPem);
      assert.ok(other.tls.certChainPem.endsWith(a.ca.certPem));
    }
    assert.equal(a.keyring.keys().length, 1);
    // The secrets are in the shared store, not in any replica's data dir.
    for (const dir of dirs) assert.equal(fs.existsSync(path.join(dir, 'pki')), false);
    assert.ok(fs.existsSync(path.join(dirs[0], 'operator', 'operator.key')));
  });

  it("follows another replica's keyring changes, and applies its own to the keys as stored", async () => {
    const [a, b] = [await replica(replicas.replica()), await replica(replicas.replica())];
    const [first] = a.keyring.keys();
    const next = randomBytes(32).toString('base64');
    await a.keyring.apply('install', next);
    await eventually(() => assert.deepEqual(b.keyring.keys(), [first, next]));
    await b.keyring.apply('use', next);
    await b.keyring.apply('remove', first);
    await eventually(() => assert.deepEqual(a.keyring.keys(), [next]));
    const restarted = await replica(replicas.replica());
    assert.deepEqual(restarted.keyring.keys(), [next]);
  });
});
