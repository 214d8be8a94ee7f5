import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { unaryCall } from '../../common/grpc-client';
import type { Vni__Output } from '../../generated/vxgossip/v1/Vni';
import type { ListVnisResponse__Output } from '../../generated/vxgossip/v1/ListVnisResponse';
import type { VniServiceClient } from '../../generated/vxgossip/v1/VniService';
import { vniClient } from '../helpers/grpc-clients';
import { requireRoot } from '../helpers/require-root';
import { ServerHandle, startServer } from '../../lab/server-process';
import { anonymousCredentials, operatorCredentials } from '../../lab/credentials';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { eventually } from '../../lab/eventually';
import { repoRoot } from '../../common/paths';
import { ReplicatingAgent } from '../../lab/replicating-agent';

const TMPFS_SIZE = '2m';
// The server retries reopening for 30 s; it must be back well within that once space is free.
const RECOVERY_BOUND_MS = 15_000;

// Writes zeros until the filesystem is full, as a runaway log would.
function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

function healthStatus(server: ServerHandle, service = ''): Promise<string> {
  const def = protoLoader.loadSync(healthProtoPath, { enums: String });
  const Health = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health;
  const health = new Health(server.address, anonymousCredentials(server.dataDir));
  return unaryCall<{ status: string }>((o, cb) => health.check({ service }, o, cb), 5000)
    .then((r) => r.status)
    .finally(() => health.close());
}

async function readyz(metricsUrl: string): Promise<{ status: number; body: string }> {
  const res = await fetch(metricsUrl.replace(/\/metrics$/, '/readyz'));
  return { status: res.status, body: await res.text() };
}

describe('fail-stop storage: the data dir on a full disk (real server, 2 MB tmpfs, as root)', function () {
  this.timeout(120_000);
  let mount: string | undefined;
  let server: ServerHandle | undefined;
  let client: VniServiceClient | undefined;
  let agent: ReplicatingAgent | undefined;

  before(function () {
    requireRoot(this);
    mount = makeTempDir('disk-full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'vxgossip-disk-full', mount]);
  });
  after(async () => {
    client?.close();
    agent?.close();
    await server?.proc.stop('SIGKILL');
    if (mount === undefined) return;
    execFileSync('umount', [mount]);
    removeTempDir(mount);
  });

  const start = async (dataDir: string) => {
    client?.close();
    server = await startServer(dataDir, '127.0.0.1:0', ['--metrics', '127.0.0.1:0']);
    client = vniClient(server.address, operatorCredentials(server.dataDir));
    const metrics = server.proc.logRecords().find((r) => r.msg === 'metrics served');
    return String(metrics?.address);
  };
  const create = (id: number) =>
    unaryCall<Vni__Output>((o, cb) => client!.createVni({ vni: { id } }, o, cb), 5000).then((v) => ({
      id: v.id,
      revision: Number(v.revision),
    }));
  const createError = async (id: number) => {
    try {
      return { acknowledged: await create(id) };
    } catch (err) {
      return { error: err as grpc.ServiceError };
    }
  };

  it('refuses writes and reports NOT_SERVING while the disk is full, reopens once there is room, and keeps every acknowledged VNI across kill -9 without reusing a revision', async () => {
    const dataDir = path.join(mount!, 'data');
    const filler = path.join(mount!, 'filler');
    let metricsUrl = await start(dataDir);
    const acknowledged: Array<{ id: number; revision: number }> = [];
    for (const id of [101, 102, 103]) acknowledged.push(await create(id));
    agent = await ReplicatingAgent.enrol(server!, 'h1', '198.18.0.1');
    assert.ok(await agent.replicate([agent.endpoint(101, '02:00:00:00:01:01')]), 'a record is acknowledged');

    fillDisk(filler);
    // LevelDB's log may still have room in a page it holds: creates succeed until it has none.
    let refused: grpc.ServiceError | undefined;
    for (let id = 200; refused === undefined && id < 1200; id++) {
      const r = await createError(id);
      if (r.acknowledged) acknowledged.push(r.acknowledged);
      else refused = r.error;
    }
    assert.ok(refused, 'a create failed once the disk was full');
    assert.equal(refused.code, grpc.status.UNAVAILABLE, refused.details);
    assert.match(refused.details, /the database in .* failed to write .*No space left on device/);
    assert.equal(await healthStatus(server!), 'NOT_SERVING');
    assert.equal(await healthStatus(server!, 'vxgossip.v1.VniService'), 'NOT_SERVING');
    const notReady = await readyz(metricsUrl);
    assert.equal(notReady.status, 503, notReady.body);
    assert.match(notReady.body, /No space left on device/);
    const again = await createError(5000);
    assert.equal(again.error?.code, grpc.status.UNAVAILABLE, 'writes stay refused until the database is reopened');
    assert.match(again.error.details, /reopening/);
    // An agent re-sends what was not acknowledged when it reconnects: its stream is ended, not left hanging.
    assert.equal(await agent.replicate([agent.endpoint(101, '02:00:00:00:01:02')], 1000), undefined);
    const ended = await Promise.race([
      agent.ended,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
    ]);
    assert.equal(ended?.code, grpc.status.UNAVAILABLE, 'the agent stream is ended');
    assert.match(ended.details, /failed to write/);
    const ctl = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'bin', 'ctl'), ...server!.ctlArgs, 'vni', 'create', '5000'],
      {
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    assert.equal(ctl.status, 1, ctl.stderr);
    assert.match(
      ctl.stderr,
      /^ctl vni create: server at .* cannot serve now: the database in .* failed to write/,
      'not "unreachable"',
    );

    fs.unlinkSync(filler);
    const freed = Date.now();
    await eventually(async () => assert.equal(await healthStatus(server!), 'SERVING'), RECOVERY_BOUND_MS, 200);
    console.log(`      serving again ${Date.now() - freed} ms after the space was freed`);
    assert.equal((await readyz(metricsUrl)).status, 200);
    const highestBefore = Math.max(...acknowledged.map((a) => a.revision));
    for (const id of [5001, 5002, 5003]) {
      const vni = await create(id);
      assert.ok(vni.revision > highestBefore, `VNI ${id} got revision ${vni.revision}, not above ${highestBefore}`);
      acknowledged.push(vni);
    }

    await server!.proc.stop('SIGKILL');
    metricsUrl = await start(dataDir);
    const list = await unaryCall<ListVnisResponse__Output>((o, cb) => client!.listVnis({}, o, cb), 5000);
    const kept = new Set(list.vnis.map((v) => v.id));
    assert.deepEqual(
      acknowledged.filter((a) => !kept.has(a.id)).map((a) => a.id),
      [],
      'every acknowledged VNI survives kill -9',
    );
    const highest = Math.max(...acknowledged.map((a) => a.revision));
    const next = await create(6000);
    assert.ok(next.revision > highest, `the next create got revision ${next.revision}, not above ${highest}`);
    assert.equal((await readyz(metricsUrl)).status, 200);
  });
});
