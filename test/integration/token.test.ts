import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { repoRoot } from '../../common/paths';
import { v1 } from '../../common/proto';
import type { AgentServiceClient } from '../../generated/vxgossip/v1/AgentService';
import type { ServerMessage__Output } from '../../generated/vxgossip/v1/ServerMessage';
import { ServerHandle, startServer } from '../../lab/server-process';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';

// The operator token: ctl and API clients must present it; agents (TLS-authenticated) and health
// checks need not.
describe('bearer token on the API', function () {
  this.timeout(60_000);
  let server: ServerHandle;
  let dir: string;
  const token = 'tok-' + 'x'.repeat(28);

  const ctl = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), '--server', server.address, ...args], {
      encoding: 'utf8',
      env: { ...process.env, VXGOSSIP_TOKEN: '', ...env },
    });

  before(async () => {
    dir = makeTempDir('token');
    fs.writeFileSync(path.join(dir, 'token'), token + '\n');
    fs.writeFileSync(path.join(dir, 'wrong'), 'tok-' + 'y'.repeat(28));
    server = await startServer(makeTempDir('server'), '127.0.0.1:0', ['--token-file', path.join(dir, 'token')]);
  });

  after(async () => {
    await server?.proc.stop();
    removeTempDir(dir);
  });

  it('serves ctl with the token (file or environment) and refuses it without or with a wrong one', () => {
    assert.equal(ctl(['--token-file', path.join(dir, 'token'), 'vni', 'create', '42']).status, 0);
    assert.equal(ctl(['vni', 'list'], { VXGOSSIP_TOKEN: token }).status, 0);
    for (const r of [ctl(['vni', 'list']), ctl(['--token-file', path.join(dir, 'wrong'), 'vni', 'list'])]) {
      assert.equal(r.status, 1);
      assert.match(r.stderr, /bearer token is required/);
    }
  });

  it('lets agents and health checks through without it', async () => {
    const client: AgentServiceClient = new (v1().AgentService)(server.address, grpc.credentials.createInsecure());
    const stream = client.connect();
    const first = await new Promise<ServerMessage__Output>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
      stream.write({
        hello: { node: 'h1', vtep: '198.18.0.11', incarnation: 1, agentVersion: 'test', configRevision: 0 },
      });
    });
    assert.equal(first.msg, 'config');
    stream.cancel();
    client.close();
    const health = new grpc.Client(server.address, grpc.credentials.createInsecure());
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
});
