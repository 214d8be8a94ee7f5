import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../../common/paths';
import { createLogger } from '../../../common/log';
import { openEtcdStorage } from '../../../server/storage';
import { ETCD, LocalEtcd } from '../../../lab/local-etcd';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';
import { requirePrograms } from '../../helpers/require-root';

// A replica reaches an etcd that requires client certificates (--etcd-ca, --etcd-cert, --etcd-key),
// and says what is wrong when it is given none or the wrong CA.
describe('server storage on etcd with client TLS', function () {
  this.timeout(60_000);
  let etcd: LocalEtcd | undefined;
  let dir: string;
  let other: string;
  const log = createLogger({ component: 'test', level: 'error', write: () => undefined });
  const devCa = (into: string) =>
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'dev-ca.sh'), into, '127.0.0.1', 'operator:replica'], {
      stdio: 'ignore',
    });

  before(async function () {
    requirePrograms(this, { ...ETCD, openssl: 'openssl' });
    [dir, other] = [makeTempDir('etcd-tls'), makeTempDir('etcd-tls-other')];
    devCa(dir);
    devCa(other);
    const file = (name: string) => path.join(dir, name);
    etcd = await LocalEtcd.start(1, {
      certFile: file('server.crt'),
      keyFile: file('server.key'),
      trustedCaFile: file('ca.crt'),
    });
  });
  after(async () => {
    await etcd?.stop();
    for (const d of [dir, other]) if (d) removeTempDir(d);
  });

  const open = (files: { caFile?: string; certFile?: string; keyFile?: string }) =>
    openEtcdStorage({ endpoints: etcd!.endpoints, prefix: '/tls/', ...files }, log);

  it('stores through https with the replica’s client certificate', async () => {
    const storage = await open({
      caFile: path.join(dir, 'ca.crt'),
      certFile: path.join(dir, 'replica.crt'),
      keyFile: path.join(dir, 'replica.key'),
    });
    try {
      const vni = await storage.vnis.create({ id: 42 });
      assert.ok(vni.revision > 0);
    } finally {
      await storage.close();
    }
  });

  it('cannot open without a client certificate, or trusting another CA', async () => {
    await assert.rejects(open({ caFile: path.join(dir, 'ca.crt') }), /cannot open the state in etcd at https:/);
    await assert.rejects(
      open({
        caFile: path.join(other, 'ca.crt'),
        certFile: path.join(dir, 'replica.crt'),
        keyFile: path.join(dir, 'replica.key'),
      }),
      /cannot open the state in etcd at https:/,
    );
  });
});
