import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../../common/proto';
import { repoRoot } from '../../../common/paths';
import type { Node } from '../../../generated/vxgossip/v1/Node';
import { CtlTestServers, ctlAsync as ctl } from '../../helpers/ctl-server';

const alive = (name: string): Node => ({
  name,
  vtep: '198.18.0.1',
  state: 'NODE_STATE_ALIVE',
  connected: true,
  programming: [{ vni: 42, desired: 2, programmed: 2, devicesReady: true, conflicts: [] }],
});

// A TLS server on loopback with the handlers a test needs, and ctl's flags to reach it.
describe('ctl against a server', () => {
  const servers = new CtlTestServers();
  let nodes: Node[] = [];

  const serve = (requireClientCert: boolean) =>
    servers.serve(
      [
        [
          v1().NodeService.service,
          { ListNodes: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { nodes }) },
        ],
        [
          v1().ClusterService.service,
          { GetStatus: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { serverVersion: '9.8.7' }) },
        ],
        [
          v1().EndpointService.service,
          {
            DetachEndpoint: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
              cb({
                code: grpc.status.NOT_FOUND,
                details: 'no agent named host9 has connected to this server: check the name',
              }),
            // Events until the client goes: more than any pipe holds.
            WatchFdb: (call: grpc.ServerWritableStream<unknown, unknown>) => {
              const timer = setInterval(() => {
                for (let i = 0; i < 100; i++) call.write({ type: 'EVENT_TYPE_SNAPSHOT_END', revision: i });
              }, 10);
              call.on('cancelled', () => clearInterval(timer));
              call.on('close', () => clearInterval(timer));
            },
          },
        ],
      ],
      requireClientCert,
    );

  before(() => servers.start());
  after(() => servers.stop());

  it('status exits 0 when healthy, 3 when degraded, when empty, or when a known host has not reconnected', async () => {
    const at = await serve(false);
    nodes = [alive('h1'), alive('h2')];
    const healthy = await ctl([...at, 'status']);
    assert.equal(healthy.status, 0, healthy.stderr);
    assert.match(healthy.stdout, /^cluster: healthy; members: 2 alive/);

    nodes = [];
    const empty = await ctl([...at, 'status']);
    assert.equal(empty.status, 3, empty.stderr);
    assert.match(empty.stdout, /^cluster: DEGRADED; members: none/);

    // As the server lists an enrolled host that has not reconnected since it restarted.
    nodes = [alive('h1'), { name: 'h2', vtep: '', state: 'NODE_STATE_UNSPECIFIED', connected: false, programming: [] }];
    const missing = await ctl([...at, '-o', 'json', 'status']);
    assert.equal(missing.status, 3, missing.stderr);
    const status = JSON.parse(missing.stdout) as { healthy: boolean; members: Record<string, number> };
    assert.equal(status.healthy, false);
    assert.deepEqual(status.members, { alive: 1, unknown: 1 });

    nodes = [
      { ...alive('h1'), programming: [{ vni: 42, desired: 2, programmed: 1, devicesReady: true, conflicts: [] }] },
    ];
    assert.equal((await ctl([...at, 'status'])).status, 3, 'out of sync');
  });

  it("prints the client's and the server's version", async () => {
    const at = await serve(false);
    const r = await ctl([...at, 'version']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^client: \d+\.\d+\.\d+\nserver: 9\.8\.7\n$/);
  });

  it('reports an unknown node as the server said, not as an unreachable server', async () => {
    const at = await serve(false);
    const r = await ctl([...at, 'endpoint', 'detach', '--node', 'host9', '--vni', '42', '--netns', 'ns1']);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      'ctl endpoint detach: not found: no agent named host9 has connected to this server: check the name\n',
    );
  });

  it('says a client certificate is missing when the server requires one (TLS alert 116)', async () => {
    const at = await serve(true);
    const r = await ctl([...at, 'status']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /requires a client certificate and ctl presented none: give --credentials DIR/);
    assert.doesNotMatch(r.stderr, /Resolution note|unreachable/);
  });

  it('ends quietly when its reader stops reading (ctl watch fdb | head)', async () => {
    const at = await serve(false);
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), ...at, 'watch', 'fdb'], {
      env: { ...process.env, VXGOSSIP_SERVER: '', VXGOSSIP_CREDENTIALS: '' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // As head does: read a line, then close the pipe.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });
});
