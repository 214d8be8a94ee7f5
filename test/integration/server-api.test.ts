import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { unaryCall } from '../../common/grpc-client';
import type { Vni, Vni__Output } from '../../generated/vxgossip/v1/Vni';
import type { ListVnisResponse__Output } from '../../generated/vxgossip/v1/ListVnisResponse';
import type { VniServiceClient } from '../../generated/vxgossip/v1/VniService';
import { expectRpcError, vniClient } from '../helpers/grpc-clients';
import { ServerHandle, startServer } from '../../lab/server-process';
import { anonymousCredentials, operatorCredentials } from '../../lab/credentials';
import { repoRoot } from '../../common/paths';
import { protoPath as healthProtoPath } from 'grpc-health-check';

describe('server gRPC API (real process on loopback)', function () {
  let server: ServerHandle;
  let client: VniServiceClient;

  before(async () => {
    server = await startServer();
    client = vniClient(server.address, operatorCredentials(server.dataDir));
  });
  after(async () => {
    client?.close();
    await server?.proc.stop();
  });

  const create = (vni: Vni) => unaryCall<Vni__Output>((o, cb) => client.createVni({ vni }, o, cb), 5000);
  const createError = (vni: Vni) => expectRpcError((o, cb) => client.createVni({ vni }, o, cb));

  it('creates, gets, lists and deletes a VNI with defaults filled in', async () => {
    const created = await create({ id: 42 });
    assert.equal(created.id, 42);
    assert.equal(created.name, 'vni-42');
    assert.equal(created.dstport, 4789);
    assert.equal(created.mode, 'MODE_L2');
    assert.equal(created.flooding?.method, 'headEnd');
    const got = await unaryCall<any>((o, cb) => client.getVni({ id: 42 }, o, cb), 5000);
    assert.equal(got.vni.name, 'vni-42');
    const list = await unaryCall<ListVnisResponse__Output>((o, cb) => client.listVnis({}, o, cb), 5000);
    assert.deepEqual(
      list.vnis.map((v) => v.id),
      [42],
    );
    await unaryCall((o, cb) => client.deleteVni({ id: 42 }, o, cb), 5000);
    const gone = await expectRpcError((o, cb) => client.getVni({ id: 42 }, o, cb));
    assert.equal(gone.code, grpc.status.NOT_FOUND);
  });

  const invalid: Array<[string, Vni, string]> = [
    ['VNI 0', { id: 0 }, 'id'],
    ['VNI above 2^24-1', { id: 16777216 }, 'id'],
    ['dstport above 65535', { id: 100, dstport: 70000 }, 'dstport'],
    ['MTU below the sane range', { id: 100, mtu: 100 }, 'mtu'],
    ['MTU above the sane range', { id: 100, mtu: 10000 }, 'mtu'],
    [
      'a unicast address as the multicast group',
      { id: 100, flooding: { multicastGroup: '10.1.2.3' } },
      'flooding.multicast_group',
    ],
    [
      'a group that is not an address',
      { id: 100, flooding: { multicastGroup: 'not-an-ip' } },
      'flooding.multicast_group',
    ],
    ['an upper-case name', { id: 100, name: 'Blue' }, 'name'],
    ['a name ending in a dash', { id: 100, name: 'blue-' }, 'name'],
    ['a name of 64 characters', { id: 100, name: 'a'.repeat(64) }, 'name'],
    ['a subnet without prefix length', { id: 100, subnet: '10.42.0.0' }, 'subnet'],
    ['a subnet with prefix length 33', { id: 100, subnet: '10.42.0.0/33' }, 'subnet'],
    ['an l3 VNI without subnet', { id: 100, mode: 'MODE_L3' }, 'subnet'],
    [
      'an l3 VNI with a multicast group',
      { id: 100, mode: 'MODE_L3', subnet: '10.1.0.0/16', flooding: { multicastGroup: '239.1.1.1' } },
      'flooding.multicast_group',
    ],
  ];
  for (const [what, vni, field] of invalid) {
    it(`rejects ${what} with INVALID_ARGUMENT naming ${field}`, async () => {
      const err = await createError(vni);
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
      assert.ok(err.details.startsWith(`${field}:`), `details "${err.details}" should start with "${field}:"`);
    });
  }

  it('rejects a mode number this server does not know', async () => {
    const err = await createError({ id: 100, mode: 7 as unknown as Vni['mode'] });
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, /^mode:/);
  });

  it('answers ALREADY_EXISTS for a duplicate id or name, and keeps the original', async () => {
    await create({ id: 500, name: 'red' });
    assert.equal((await createError({ id: 500, name: 'other' })).code, grpc.status.ALREADY_EXISTS);
    assert.equal((await createError({ id: 501, name: 'red' })).code, grpc.status.ALREADY_EXISTS);
    const got = await unaryCall<any>((o, cb) => client.getVni({ id: 500 }, o, cb), 5000);
    assert.equal(got.vni.name, 'red');
  });

  it('lets exactly one of many concurrent creates of the same VNI win', async () => {
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => create({ id: 600 })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.equal((r.reason as grpc.ServiceError).code, grpc.status.ALREADY_EXISTS);
    }
  });

  it('answers NOT_FOUND for unknown VNIs on get, update and delete', async () => {
    assert.equal((await expectRpcError((o, cb) => client.getVni({ id: 9999 }, o, cb))).code, grpc.status.NOT_FOUND);
    assert.equal((await expectRpcError((o, cb) => client.deleteVni({ id: 9999 }, o, cb))).code, grpc.status.NOT_FOUND);
    assert.equal(
      (await expectRpcError((o, cb) => client.updateVni({ vni: { id: 9999, mtu: 1400 }, updatePaths: ['mtu'] }, o, cb)))
        .code,
      grpc.status.NOT_FOUND,
    );
  });

  it('updates MTU and flooding in place, refuses fixed fields and stale revisions', async () => {
    const created = await create({ id: 700 });
    const updated = await unaryCall<Vni__Output>(
      (o, cb) =>
        client.updateVni(
          {
            vni: { id: 700, mtu: 1400, flooding: { multicastGroup: '239.1.1.7' } },
            updatePaths: ['mtu', 'flooding'],
            expectedRevision: created.revision,
          },
          o,
          cb,
        ),
      5000,
    );
    assert.equal(updated.mtu, 1400);
    assert.equal(updated.flooding?.multicastGroup, '239.1.1.7');
    assert.ok(Number(updated.revision) > Number(created.revision));
    const fixed = await expectRpcError((o, cb) =>
      client.updateVni({ vni: { id: 700, dstport: 8472 }, updatePaths: ['dstport'] }, o, cb),
    );
    assert.equal(fixed.code, grpc.status.INVALID_ARGUMENT);
    assert.match(fixed.details, /^update_paths:/);
    const stale = await expectRpcError((o, cb) =>
      client.updateVni(
        { vni: { id: 700, mtu: 1300 }, updatePaths: ['mtu'], expectedRevision: created.revision },
        o,
        cb,
      ),
    );
    assert.equal(stale.code, grpc.status.FAILED_PRECONDITION);
  });

  it('pages through a listing', async () => {
    for (const id of [800, 801, 802, 803, 804]) await create({ id });
    const ids: number[] = [];
    let pageToken = '';
    do {
      const page = await unaryCall<ListVnisResponse__Output>(
        (o, cb) => client.listVnis({ pageSize: 2, pageToken }, o, cb),
        5000,
      );
      assert.ok(page.vnis.length <= 2);
      ids.push(...page.vnis.map((v) => v.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.deepEqual(
      ids.filter((id) => id >= 800 && id < 900),
      [800, 801, 802, 803, 804],
    );
    const bad = await expectRpcError((o, cb) => client.listVnis({ pageToken: 'garbage' }, o, cb));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  });

  it('serves grpc.health.v1 as SERVING for the server and each service', async () => {
    const def = protoLoader.loadSync(healthProtoPath, { enums: String });
    const Health = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health;
    // Public, for load balancers: TLS, but no client certificate.
    const health = new Health(server.address, anonymousCredentials(server.dataDir));
    for (const service of ['', 'vxgossip.v1.VniService']) {
      const res = await unaryCall<{ status: string }>((o, cb) => health.check({ service }, o, cb), 5000);
      assert.equal(res.status, 'SERVING');
    }
    health.close();
  });

  it('serves reflection listing the vxgossip services', async () => {
    const file = path.join(repoRoot, 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const def = protoLoader.loadSync(file);
    const Reflection = (grpc.loadPackageDefinition(def) as any).grpc.reflection.v1.ServerReflection;
    const reflection = new Reflection(server.address, anonymousCredentials(server.dataDir));
    const stream = reflection.ServerReflectionInfo();
    const reply = await new Promise<any>((resolve, reject) => {
      stream.on('data', resolve);
      stream.on('error', reject);
      stream.write({ listServices: '' });
    });
    stream.end();
    reflection.close();
    const names = reply.listServicesResponse.service.map((s: { name: string }) => s.name);
    for (const name of ['vxgossip.v1.VniService', 'vxgossip.v1.AgentService', 'vxgossip.v1.NodeService'])
      assert.ok(names.includes(name), names.join(','));
  });
});

describe('server durability', function () {
  it('keeps a VNI acknowledged just before kill -9', async () => {
    const first = await startServer();
    const client = vniClient(first.address, operatorCredentials(first.dataDir));
    await unaryCall((o, cb) => client.createVni({ vni: { id: 4242, name: 'durable' } }, o, cb), 5000);
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    client.close();

    const second = await startServer(first.dataDir);
    const again = vniClient(second.address, operatorCredentials(second.dataDir));
    try {
      const got = await unaryCall<any>((o, cb) => again.getVni({ id: 4242 }, o, cb), 5000);
      assert.equal(got.vni.name, 'durable');
      const next = await unaryCall<Vni__Output>((o, cb) => again.createVni({ vni: { id: 4243 } }, o, cb), 5000);
      assert.ok(Number(next.revision) > Number(got.vni.revision), 'the revision counter survives the restart');
    } finally {
      again.close();
      await second.proc.stop();
    }
  });

  it('refuses to start on a corrupt database, naming the corruption and the repair, which then brings it back', async () => {
    const first = await startServer();
    const server = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'server'), '--data-dir', first.dataDir, ...args], {
        encoding: 'utf8',
        timeout: 15_000,
      });
    const client = vniClient(first.address, operatorCredentials(first.dataDir));
    await unaryCall((o, cb) => client.createVni({ vni: { id: 4244 } }, o, cb), 5000);
    client.close();
    const underServer = server('--repair-database');
    assert.equal(underServer.status, 1, underServer.stderr);
    assert.match(underServer.stderr, /another server is using it/);
    await first.proc.stop();
    const manifest = fs.readFileSync(path.join(first.dataDir, 'CURRENT'), 'utf8').trim();
    fs.writeFileSync(path.join(first.dataDir, manifest), 'not a manifest');

    const refused = server('--listen', '127.0.0.1:0');
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /the database in .* is corrupt \(Corruption: .*\).*--repair-database/);
    const repaired = server('--repair-database');
    assert.equal(repaired.status, 0, repaired.stderr);

    const second = await startServer(first.dataDir);
    const again = vniClient(second.address, operatorCredentials(second.dataDir));
    try {
      await unaryCall((o, cb) => again.getVni({ id: 4244 }, o, cb), 5000);
    } finally {
      again.close();
      await second.proc.stop();
    }
  });

  it('refuses a second server on the same data directory with a clear error', async () => {
    const first = await startServer();
    try {
      const { ManagedProcess } = await import('../../lab/managed-process');
      const second = new ManagedProcess('server2', process.execPath, [
        path.join(repoRoot, 'bin', 'server'),
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        first.dataDir,
      ]);
      assert.equal(await second.exited, 1);
      assert.match(second.logs(), /cannot open the database in .*another server/);
    } finally {
      await first.proc.stop();
    }
  });
});
