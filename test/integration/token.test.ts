import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { repoRoot } from '../../common/paths';
import { v1 } from '../../common/proto';
import { tokenClientInterceptor } from '../../common/token-auth';
import type { AgentServiceClient } from '../../generated/vxgossip/v1/AgentService';
import { ServerHandle, startServer } from '../../lab/server-process';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { anonymousCredentials, operatorDir } from '../../lab/credentials';

// The operator bearer token (server --token-file): over TLS, instead of an operator certificate.
// It makes an operator, nothing else: agents still need their node certificate.
describe('bearer token as an operator credential (over TLS)', function () {
  this.timeout(60_000);
  let server: ServerHandle;
  let dir: string;
  const token = 'tok-' + 'x'.repeat(28);
  const tokenFile = () => path.join(dir, 'token');
  const caFile = () => path.join(operatorDir(server.dataDir), 'ca.crt');

  const ctl = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), '--server', server.address, ...args], {
      encoding: 'utf8',
      env: { ...process.env, VXGOSSIP_TOKEN: '', VXGOSSIP_CREDENTIALS: '', VXGOSSIP_TLS_CA: '', ...env },
      timeout: 20_000,
    });

  before(async () => {
    dir = makeTempDir('token');
    fs.writeFileSync(tokenFile(), token + '\n');
    fs.writeFileSync(path.join(dir, 'wrong'), 'tok-' + 'y'.repeat(28));
    fs.writeFileSync(path.join(dir, 'short'), 'tok-short');
    server = await startServer(makeTempDir('server'), '127.0.0.1:0', ['--token-file', tokenFile()]);
  });

  after(async () => {
    await server?.proc.stop();
    removeTempDir(dir);
    if (server) removeTempDir(server.dataDir);
  });

  it('serves ctl with the token (file or environment), the server verified with its CA', () => {
    const created = ctl(['--tls-ca', caFile(), '--token-file', tokenFile(), 'vni', 'create', '42']);
    assert.equal(created.status, 0, created.stderr);
    const listed = ctl(['vni', 'list'], { VXGOSSIP_TLS_CA: caFile(), VXGOSSIP_TOKEN: token });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /42\s+vni-42/);
  });

  it('still serves the operator certificate', () => {
    const r = ctl(['--credentials', operatorDir(server.dataDir), 'vni', 'list']);
    assert.equal(r.status, 0, r.stderr);
  });

  it('refuses a wrong token and no token with UNAUTHENTICATED (exit 1), naming both credentials', () => {
    for (const r of [
      ctl(['--tls-ca', caFile(), '--token-file', path.join(dir, 'wrong'), 'vni', 'list']),
      ctl(['--tls-ca', caFile(), 'vni', 'list']),
    ]) {
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /unauthenticated: an operator credential is required: .*--credentials DIR.* or --token-file FILE/,
      );
    }
  });

  it('is not a way in without TLS: ctl with only a token exits 2 asking for the CA', () => {
    const r = ctl(['--token-file', tokenFile(), 'vni', 'list']);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /speaks only TLS/);
  });

  it('does not let an agent stream in: agents present their node certificate', async () => {
    const client: AgentServiceClient = new (v1().AgentService)(server.address, anonymousCredentials(server.dataDir), {
      interceptors: [tokenClientInterceptor(token)],
    });
    const stream = client.connect();
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      stream.on('data', () => undefined);
      stream.once('error', resolve);
      stream.write({
        hello: { node: 'h1', vtep: '198.18.0.11', incarnation: 1, agentVersion: 'test', configRevision: 0 },
      });
    });
    client.close();
    assert.equal(err.code, grpc.status.UNAUTHENTICATED);
    assert.match(err.details, /must present its node certificate/);
  });

  it('lets health checks through without it (TLS, no client certificate)', async () => {
    const health = new grpc.Client(server.address, anonymousCredentials(server.dataDir));
    await new Promise<void>((resolve, reject) =>
      health.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (x: Buffer) => x,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    health.close();
  });

  it('refuses to start with a token shorter than 16 characters (exit 2)', () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(repoRoot, 'bin', 'server'),
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        path.join(dir, 'short-server'),
        '--token-file',
        path.join(dir, 'short'),
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--token-file .*short: the token must be at least 16 characters/);
  });
});

describe('bearer token on a server without --token-file', function () {
  this.timeout(60_000);
  let server: ServerHandle;

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.proc.stop();
    if (server) removeTempDir(server.dataDir);
  });

  it('is refused: only the operator certificate makes an operator', () => {
    const dir = makeTempDir('token');
    try {
      fs.writeFileSync(path.join(dir, 'token'), 'tok-' + 'x'.repeat(28));
      const r = spawnSync(
        process.execPath,
        [
          path.join(repoRoot, 'bin', 'ctl'),
          '--server',
          server.address,
          '--tls-ca',
          path.join(operatorDir(server.dataDir), 'ca.crt'),
          '--token-file',
          path.join(dir, 'token'),
          'vni',
          'list',
        ],
        { encoding: 'utf8', env: { ...process.env, VXGOSSIP_CREDENTIALS: '', VXGOSSIP_TOKEN: '' }, timeout: 20_000 },
      );
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /unauthenticated: an operator credential is required/);
      assert.doesNotMatch(r.stderr, /--token-file/, 'the server does not offer what it does not accept');
    } finally {
      removeTempDir(dir);
    }
  });
});
