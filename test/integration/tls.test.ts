import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { requirePrograms } from '../helpers/require-root';
import { ServerHandle, startServer } from '../../lab/server-process';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';

// Mutual TLS on the gRPC API: certificates from scripts/dev-ca.sh; a client with the right
// certificate is served, one without a certificate or with another CA's is refused.
describe('gRPC over mutual TLS', function () {
  this.timeout(60_000);
  let dir: string;
  let other: string;
  let server: ServerHandle | undefined;

  const ctl = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), '--server', server!.address, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });

  before(async function () {
    requirePrograms(this, { openssl: 'openssl' });
    dir = makeTempDir('tls');
    other = makeTempDir('tls-other');
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'dev-ca.sh'), dir, '127.0.0.1,localhost', 'ctl'], {
      stdio: 'ignore',
    });
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'dev-ca.sh'), other, '127.0.0.1', 'ctl'], { stdio: 'ignore' });
    server = await startServer(makeTempDir('server'), '127.0.0.1:0', [
      '--tls-cert',
      `${dir}/server.crt`,
      '--tls-key',
      `${dir}/server.key`,
      '--tls-client-ca',
      `${dir}/ca.crt`,
    ]);
  });

  after(async () => {
    await server?.proc.stop();
    for (const d of [dir, other]) if (d) removeTempDir(d);
  });

  it('serves a client presenting a certificate from the CA (flags, or the environment)', () => {
    const r = ctl([
      '--tls-ca',
      `${dir}/ca.crt`,
      '--tls-cert',
      `${dir}/ctl.crt`,
      '--tls-key',
      `${dir}/ctl.key`,
      'vni',
      'create',
      '42',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const e = ctl(['vni', 'list'], {
      VXGOSSIP_TLS_CA: `${dir}/ca.crt`,
      VXGOSSIP_TLS_CERT: `${dir}/ctl.crt`,
      VXGOSSIP_TLS_KEY: `${dir}/ctl.key`,
    });
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /42\s+vni-42/);
  });

  it("refuses a client without a certificate, one with another CA's, and a plaintext one", () => {
    for (const args of [
      ['--tls-ca', `${dir}/ca.crt`],
      ['--tls-ca', `${dir}/ca.crt`, '--tls-cert', `${other}/ctl.crt`, '--tls-key', `${other}/ctl.key`],
      [],
    ]) {
      const r = ctl([...args, '--timeout', '3000', 'vni', 'list']);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, /server unreachable|UNAVAILABLE|handshake|certificate|timed out|deadline/i, r.stderr);
    }
  });

  it('names a missing certificate file and exits 2', () => {
    const r = ctl(['--tls-ca', `${dir}/nope.crt`, 'vni', 'list']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--tls-ca .*nope\.crt: no such file/);
  });
});
