import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { startGrpcServer, RunningServer } from '../../../server/grpc-server';
import { openLevelStorage, type ServerStorage } from '../../../server/storage';
import { openClusterPki } from '../../../server/trust/cluster-pki';
import type { AgentStream } from '../../../server/agent-hub';
import { createLogger } from '../../../common/log';
import { v1 } from '../../../common/proto';
import { unaryCall } from '../../../common/grpc-client';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';
import { operatorCredentials } from '../../../lab/credentials';
import type { VniServiceClient } from '../../../generated/vxgossip/v1/VniService';
import type { EndpointServiceClient } from '../../../generated/vxgossip/v1/EndpointService';
import type { AttachEndpointRequest } from '../../../generated/vxgossip/v1/AttachEndpointRequest';
import type { Vni } from '../../../generated/vxgossip/v1/Vni';

// The whole server in-process, called over gRPC as ctl or any client would: every malformed request
// must come back INVALID_ARGUMENT naming its field, with a bounded message.
describe('request validation over gRPC (issue #13)', function () {
  this.timeout(20_000);
  let dir: string;
  let store: ServerStorage;
  let server: RunningServer;
  let credentials: grpc.ChannelCredentials;
  let vnis: VniServiceClient;
  let endpoints: EndpointServiceClient;

  before(async () => {
    dir = makeTempDir('request-validation');
    const log = createLogger({ component: 'test', level: 'error' });
    store = await openLevelStorage(dir, log);
    const pki = await openClusterPki({ dataDir: dir, listenHost: '127.0.0.1', sans: [], log });
    server = await startGrpcServer({
      listen: '127.0.0.1:0',
      storage: store,
      log,
      pki,
      certificateTtlMs: 3_600_000,
    });
    credentials = operatorCredentials(dir);
    vnis = new (v1().VniService)(server.address, credentials);
    endpoints = new (v1().EndpointService)(server.address, credentials);
    // Node h3 says hello with its IPv4 VTEP, as an agent does; its stream keeps nothing.
    const stream = { write: () => true, end: () => undefined, emit: () => true } as unknown as AgentStream;
    server.hub.attach(
      {
        node: 'h3',
        vtep: '198.18.0.3',
        gossipAddress: '198.18.0.3:7946',
        incarnation: '1',
        agentVersion: 'test',
        configRevision: '0',
      },
      stream,
    );
    await unaryCall(
      (o, cb) => vnis.createVni({ vni: { id: 42, mode: 'MODE_L3', subnet: '10.42.0.0/24' } }, o, cb),
      5000,
    );
  });

  after(async () => {
    vnis?.close();
    endpoints?.close();
    await server?.shutdown();
    await store?.close().catch(() => undefined);
    removeTempDir(dir);
  });

  // The call's error; it must be INVALID_ARGUMENT about `field`, with a message that echoes no more than a line.
  async function invalid(call: (o: grpc.CallOptions, cb: grpc.requestCallback<unknown>) => void, field: string) {
    let error: grpc.ServiceError | undefined;
    try {
      await unaryCall(call as never, 5000);
    } catch (err) {
      error = err as grpc.ServiceError;
    }
    assert.ok(error, 'the call succeeded');
    assert.equal(grpc.status[error.code], 'INVALID_ARGUMENT', error.details);
    assert.ok(error.details.startsWith(`${field}:`), `"${error.details}" does not name ${field}`);
    assert.ok(error.details.length < 400, `${error.details.length} characters of details`);
    return error.details;
  }

  const createVni = (vni: Vni) => (o: grpc.CallOptions, cb: grpc.requestCallback<unknown>) =>
    vnis.createVni({ vni }, o, cb);
  const attach = (over: Partial<AttachEndpointRequest>) => (o: grpc.CallOptions, cb: grpc.requestCallback<unknown>) =>
    endpoints.attachEndpoint({ node: 'h1', vni: 42, netns: 'ns1', ip: '10.42.0.5/24', ...over }, o, cb);

  it('refuses an endpoint IP that is another host VTEP, naming the host', async () => {
    assert.match(await invalid(attach({ ip: '198.18.0.3/32' }), 'ip'), /h3/);
  });

  it("refuses endpoint IPs outside the VNI's subnet, unspecified or loopback", async () => {
    assert.match(await invalid(attach({ ip: '10.43.0.5/24' }), 'ip'), /10\.42\.0\.0\/24/);
    await invalid(attach({ ip: '0.0.0.0/0' }), 'ip');
    await invalid(attach({ ip: '127.0.0.1/8' }), 'ip');
  });

  it("refuses an interface name with '%' and namespace names the kernel cannot hold", async () => {
    await invalid(attach({ interface: 'x%d' }), 'interface');
    await invalid(attach({ netns: 'n'.repeat(300) }), 'netns');
    await invalid(attach({ netns: 'a/b' }), 'netns');
  });

  it('refuses multicast groups that are not routable groups or not of the VTEPs family', async () => {
    const group = (multicastGroup: string) => createVni({ id: 7, flooding: { multicastGroup } });
    await invalid(group('ff0::'), 'flooding.multicast_group');
    await invalid(group('224.0.0.1'), 'flooding.multicast_group');
    await invalid(group('ff02::1'), 'flooding.multicast_group');
    assert.match(await invalid(group('ff05::1'), 'flooding.multicast_group'), /h3/);
  });

  it('refuses subnets with host bits and the whole address space', async () => {
    assert.match(
      await invalid(createVni({ id: 8, mode: 'MODE_L3', subnet: '10.0.0.5/8' }), 'subnet'),
      /did you mean 10\.0\.0\.0\/8\?/,
    );
    await invalid(createVni({ id: 8, mode: 'MODE_L3', subnet: '::/0' }), 'subnet');
  });

  it('refuses an expected_revision beyond 2^53 instead of rounding it', async () => {
    await invalid(
      (o, cb) =>
        vnis.updateVni(
          { vni: { id: 42, mtu: 1400 }, updatePaths: ['mtu'], expectedRevision: '18446744073709551615' },
          o,
          cb,
        ),
      'expected_revision',
    );
  });

  it('refuses a from_revision beyond 2^53 instead of rounding it', async () => {
    const call = endpoints.watchEndpoints({ fromRevision: '18446744073709551615' });
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', resolve);
    });
    assert.equal(grpc.status[status.code], 'INVALID_ARGUMENT', status.details);
    assert.match(status.details, /^from_revision:/);
  });

  it('answers a message with wrong wire types INVALID_ARGUMENT, not INTERNAL', async () => {
    const raw = new grpc.Client(server.address, credentials);
    try {
      // Field 1 (vni, a message) sent as a varint: the length it is then read as runs past the end.
      const bytes = Buffer.from([0x08, 0x05]);
      await invalid(
        (o, cb) =>
          raw.makeUnaryRequest(
            '/vxgossip.v1.VniService/CreateVni',
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            new grpc.Metadata(),
            o,
            cb as grpc.requestCallback<Buffer>,
          ),
        'request',
      );
    } finally {
      raw.close();
    }
  });

  it('echoes at most a line of a 1 MB field, and the next call on the channel is answered', async () => {
    await invalid(createVni({ id: 9, name: 'x'.repeat(1_000_000) }), 'name');
    await invalid(attach({ interface: 'x'.repeat(1_000_000) }), 'interface');
    // A status too large for the HTTP/2 trailers never arrives, and wedged the channel it was sent on.
    await unaryCall((o, cb) => vnis.getVni({ id: 42 }, o, cb), 5000);
  });
});
