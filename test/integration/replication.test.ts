import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import type { AgentServiceClient } from '../../generated/vxgossip/v1/AgentService';
import { unaryCall } from '../../common/grpc-client';
import type { EndpointServiceClient } from '../../generated/vxgossip/v1/EndpointService';
import type { ListEndpointsResponse__Output } from '../../generated/vxgossip/v1/ListEndpointsResponse';
import type { Record } from '../../generated/vxgossip/v1/Record';
import { expectRpcError } from '../helpers/grpc-clients';
import { eventually } from '../../lab/eventually';
import { ServerHandle, startServer } from '../../lab/server-process';
import { ReplicatingAgent } from '../../lab/replicating-agent';
import { NodeCredential, enrolNode } from '../../lab/enrolment';
import { operatorCredentials } from '../../lab/credentials';

// The agent stream as a foreign agent would use it: records it owns are made durable and
// acknowledged; records for another node or another VTEP are refused; and what was acknowledged
// survives a server restart. Each fake agent holds a node certificate, enrolled once.
describe('record replication to the server (agent stream, real process)', function () {
  this.timeout(60_000);
  let server: ServerHandle;
  const nodes = new Map<string, NodeCredential>();

  const endpoint = (owner: string, vtep: string, mac: string, counter: number): Record => ({
    owner,
    version: { incarnation: 1, counter },
    tombstone: false,
    originTimeMs: Date.now(),
    endpoint: { vni: 42, mac, ips: ['10.42.0.9/24'], node: owner, vtep, mobilitySeq: 0, origin: 'ENDPOINT_ORIGIN_API' },
  });

  // One batch over a fresh agent stream: the acknowledged version, or undefined if refused.
  async function replicate(node: string, records: Record[]) {
    const agent = new ReplicatingAgent(server.address, nodes.get(node)!);
    try {
      return await agent.replicate(records, 1500);
    } finally {
      agent.close();
    }
  }

  const listed = async (): Promise<ListEndpointsResponse__Output> => {
    const c: EndpointServiceClient = new (v1().EndpointService)(server.address, operatorCredentials(server.dataDir));
    try {
      return await unaryCall<ListEndpointsResponse__Output>((o, cb) => c.listEndpoints({}, o, cb), 5000);
    } finally {
      c.close();
    }
  };

  before(async () => {
    server = await startServer();
    for (const [node, vtep] of [
      ['h1', '198.18.0.11'],
      ['h2', '198.18.0.12'],
    ])
      nodes.set(node, await enrolNode(server, node, [vtep]));
  });
  after(async () => server?.proc.stop());

  it("acknowledges an agent's own records once durable, and serves them", async () => {
    const version = await replicate('h1', [endpoint('h1', '198.18.0.11', '02:00:00:00:00:01', 1)]);
    assert.equal(Number(version?.counter), 1);
    const { endpoints } = await listed();
    assert.deepEqual(
      endpoints.map((e) => [e.mac, e.node, e.vtep]),
      [['02:00:00:00:00:01', 'h1', '198.18.0.11']],
    );
  });

  it('refuses (and does not acknowledge) records for another node or with another VTEP', async () => {
    assert.equal(await replicate('h2', [endpoint('h1', '198.18.0.11', '02:00:00:00:00:66', 9)]), undefined);
    assert.equal(await replicate('h2', [endpoint('h2', '198.18.0.99', '02:00:00:00:00:67', 1)]), undefined);
    const { endpoints } = await listed();
    assert.deepEqual(
      endpoints.map((e) => e.mac),
      ['02:00:00:00:00:01'],
      'nothing spoofed got in',
    );
    await eventually(() =>
      assert.match(server.proc.logs(), /agent records refused.*another node|agent records refused.*VTEP/),
    );
  });

  it('keeps what it acknowledged across a kill -9', async () => {
    await server.proc.stop('SIGKILL');
    server = await startServer(server.dataDir);
    const { endpoints } = await listed();
    assert.deepEqual(
      endpoints.map((e) => e.mac),
      ['02:00:00:00:00:01'],
    );
  });

  it('answers NOT_FOUND for a MAC nobody announces, INVALID_ARGUMENT for a bad one', async () => {
    const c: EndpointServiceClient = new (v1().EndpointService)(server.address, operatorCredentials(server.dataDir));
    try {
      assert.equal(
        (await expectRpcError((o, cb) => c.lookupFdb({ vni: 42, mac: '02:00:00:00:00:99' }, o, cb))).code,
        grpc.status.NOT_FOUND,
      );
      assert.equal(
        (await expectRpcError((o, cb) => c.lookupFdb({ vni: 42, mac: 'nonsense' }, o, cb))).code,
        grpc.status.INVALID_ARGUMENT,
      );
      assert.equal(
        (
          await expectRpcError((o, cb) =>
            c.attachEndpoint({ node: 'h9', vni: 42, netns: 'x', ip: '10.0.0.1/24' }, o, cb),
          )
        ).code,
        grpc.status.NOT_FOUND,
        'unknown VNI',
      );
    } finally {
      c.close();
    }
  });

  it('ends a stream that breaks the protocol with INVALID_ARGUMENT saying why', async () => {
    const client: AgentServiceClient = new (v1().AgentService)(server.address, nodes.get('h1')!.channelCredentials());
    try {
      const stream = client.connect();
      const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      stream.on('data', () => undefined);
      stream.write({ records: { records: [] } });
      const err = await failed;
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err.details, /first message .* must be Hello/);
    } finally {
      client.close();
    }
  });
});
