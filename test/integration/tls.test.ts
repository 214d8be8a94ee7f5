import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { repoRoot } from '../../common/paths';
import { v1 } from '../../common/proto';
import type { AgentServiceClient } from '../../generated/vxgossip/v1/AgentService';
import type { ServerMessage__Output } from '../../generated/vxgossip/v1/ServerMessage';
import { requirePrograms } from '../helpers/require-root';
import { ctl as runCtl } from '../helpers/ctl-binary';
import { expectRpcError, vniClient } from '../helpers/grpc-clients';
import { ServerHandle, startServer } from '../../lab/server-process';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { anonymousCredentials, operatorCredentials, operatorDir } from '../../lab/credentials';

const ctlAt = (server: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCtl(['--server', server, ...args], env);

// The first message the server sends an agent stream that says Hello with `credentials`, or the error
// that ends it.
async function agentHello(
  address: string,
  credentials: grpc.ChannelCredentials,
  hello: { node: string; vtep: string },
): Promise<ServerMessage__Output> {
  const client: AgentServiceClient = new (v1().AgentService)(address, credentials);
  const stream = client.connect();
  try {
    return await new Promise<ServerMessage__Output>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
      stream.write({ hello: { ...hello, incarnation: 1, agentVersion: 'test', configRevision: 0 } });
    });
  } finally {
    stream.cancel();
    client.close();
  }
}

// The server always serves TLS with the cluster CA it made, and the operator credential it wrote is
// what ctl and API clients present; nobody else gets to operator methods.
describe('TLS by default (the cluster CA and the operator credential the server made)', function () {
  this.timeout(60_000);
  let server: ServerHandle;
  const ctl = (args: string[], env: NodeJS.ProcessEnv = {}) => ctlAt(server.address, args, env);

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.proc.stop();
    if (server) removeTempDir(server.dataDir);
  });

  it('writes the operator credential at first start, its key readable by its owner only', () => {
    const dir = operatorDir(server.dataDir);
    for (const file of ['ca.crt', 'operator.crt', 'operator.key']) assert.ok(fs.existsSync(path.join(dir, file)), file);
    assert.equal(fs.statSync(path.join(dir, 'operator.key')).mode & 0o077, 0, 'operator.key is 0600');
    assert.equal(fs.statSync(path.join(server.dataDir, 'pki', 'ca.key')).mode & 0o077, 0, 'ca.key is 0600');
  });

  it('serves ctl with --credentials DIR or $VXGOSSIP_CREDENTIALS', () => {
    const created = ctl(['--credentials', operatorDir(server.dataDir), 'vni', 'create', '42']);
    assert.equal(created.status, 0, created.stderr);
    const listed = ctl(['vni', 'list'], { VXGOSSIP_CREDENTIALS: operatorDir(server.dataDir) });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /42\s+vni-42/);
  });

  it('sends ctl without any credential away with exit 2 and says what to give', () => {
    const r = ctl(['vni', 'list']);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /speaks only TLS: give --credentials DIR/);
    assert.match(r.stderr, /--help/);
  });

  it('refuses operator methods to a TLS client without a certificate (UNAUTHENTICATED, naming the fix)', async () => {
    const anonymous = vniClient(server.address, anonymousCredentials(server.dataDir));
    try {
      const err = await expectRpcError((o, cb) => anonymous.listVnis({}, o, cb));
      assert.equal(err.code, grpc.status.UNAUTHENTICATED, err.details);
      assert.match(err.details, /operator credential is required: give ctl --credentials DIR/);
    } finally {
      anonymous.close();
    }
    const r = ctl(['--tls-ca', path.join(operatorDir(server.dataDir), 'ca.crt'), 'vni', 'list']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /unauthenticated: an operator credential is required/);
  });

  it('does not speak plaintext, and a client that trusts another CA does not trust it', async () => {
    const other = await startServer();
    try {
      for (const credentials of [grpc.credentials.createInsecure(), operatorCredentials(other.dataDir)]) {
        const client = vniClient(server.address, credentials);
        try {
          const err = await expectRpcError((o, cb) => client.listVnis({}, o, cb));
          assert.equal(err.code, grpc.status.UNAVAILABLE, err.details);
        } finally {
          client.close();
        }
      }
    } finally {
      await other.proc.stop();
      removeTempDir(other.dataDir);
    }
  });

  it('refuses an agent stream without a node certificate, and an operator certificate as a node', async () => {
    const hello = { node: 'h1', vtep: '198.18.0.11' };
    const anonymous = await agentHello(server.address, anonymousCredentials(server.dataDir), hello).catch(
      (err: grpc.ServiceError) => err,
    );
    assert.equal((anonymous as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
    assert.match((anonymous as grpc.ServiceError).details, /must present its node certificate/);
    const operator = await agentHello(server.address, operatorCredentials(server.dataDir), hello).catch(
      (err: grpc.ServiceError) => err,
    );
    assert.equal((operator as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
    assert.match((operator as grpc.ServiceError).details, /operator certificate cannot act as a host/);
  });

  it('names a missing certificate file and exits 2', () => {
    const r = ctl(['--tls-ca', path.join(server.dataDir, 'nope.crt'), 'vni', 'list']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--tls-ca .*nope\.crt: no such file/);
  });
});

// Certificates from your own CA (scripts/dev-ca.sh): the server serves its certificate, and accepts
// operator and node certificates from that CA besides the cluster CA's.
describe('TLS with an external CA (--tls-cert, --tls-key, --tls-client-ca)', function () {
  this.timeout(60_000);
  let dir: string;
  let other: string;
  let server: ServerHandle | undefined;
  const ctl = (args: string[], env: NodeJS.ProcessEnv = {}) => ctlAt(server!.address, args, env);
  const devCa = (into: string, ...clients: string[]) =>
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'dev-ca.sh'), into, '127.0.0.1,localhost', ...clients], {
      stdio: 'ignore',
    });

  before(async function () {
    requirePrograms(this, { openssl: 'openssl' });
    dir = makeTempDir('tls');
    other = makeTempDir('tls-other');
    devCa(dir, 'operator:alice', 'node:h1@198.18.0.11');
    devCa(other, 'operator:alice');
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
    for (const d of [dir, other, server?.dataDir]) if (d) removeTempDir(d);
  });

  it('serves an operator certificate from the CA (flags, or the environment)', () => {
    const r = ctl([
      '--tls-ca',
      `${dir}/ca.crt`,
      '--tls-cert',
      `${dir}/alice.crt`,
      '--tls-key',
      `${dir}/alice.key`,
      'vni',
      'create',
      '42',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const e = ctl(['vni', 'list'], {
      VXGOSSIP_TLS_CA: `${dir}/ca.crt`,
      VXGOSSIP_TLS_CERT: `${dir}/alice.crt`,
      VXGOSSIP_TLS_KEY: `${dir}/alice.key`,
    });
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /42\s+vni-42/);
  });

  it('still serves the operator credential of the cluster CA, verifying the server with the external CA', () => {
    const r = ctl(['--credentials', operatorDir(server!.dataDir), '--tls-ca', `${dir}/ca.crt`, 'vni', 'list']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /42\s+vni-42/);
  });

  it('accepts a node certificate from the CA on the agent stream', async () => {
    const read = (file: string) => fs.readFileSync(path.join(dir, file));
    const credentials = grpc.credentials.createSsl(read('ca.crt'), read('h1.key'), read('h1.crt'));
    const first = await agentHello(server!.address, credentials, { node: 'h1', vtep: '198.18.0.11' });
    assert.equal(first.msg, 'config');
  });

  it('refuses to make join tokens, which could not pin a server certificate from another CA', () => {
    const r = ctl(['--credentials', operatorDir(server!.dataDir), '--tls-ca', `${dir}/ca.crt`, 'token', 'create']);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /join token cannot pin.*--tls-ca\/--tls-cert\/--tls-key/);
  });

  it('refuses a client certificate from another CA, a client without one, and a server it cannot verify', () => {
    for (const args of [
      ['--tls-ca', `${dir}/ca.crt`, '--tls-cert', `${other}/alice.crt`, '--tls-key', `${other}/alice.key`],
      ['--tls-ca', `${dir}/ca.crt`],
      ['--tls-ca', `${other}/ca.crt`, '--tls-cert', `${dir}/alice.crt`, '--tls-key', `${dir}/alice.key`],
    ]) {
      const r = ctl([...args, '--timeout', '3000', 'vni', 'list']);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, /unauthenticated|server unreachable|handshake|certificate/i, r.stderr);
    }
  });
});
