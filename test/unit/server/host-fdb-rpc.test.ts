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
import type { EndpointServiceClient } from '../../../generated/vxgossip/v1/EndpointService';
import type { HostFdb__Output } from '../../../generated/vxgossip/v1/HostFdb';
import type { HostFdbRequest } from '../../../generated/vxgossip/v1/HostFdbRequest';
import type { ServerMessage } from '../../../generated/vxgossip/v1/ServerMessage';

const entry = { vni: 42, kind: 'vxlan', mac: '02:00:00:00:00:01', vtep: '198.18.0.2', ip: '' };

// GetHostFdb through the whole server in-process: routed to the named host's agent (here a stream
// that answers what the test says), bounded on the way in and on the way back.
describe('GetHostFdb: one host kernel through its agent', function () {
  this.timeout(20_000);
  let dir: string;
  let store: ServerStorage;
  let server: RunningServer;
  let endpoints: EndpointServiceClient;
  // What h1's agent answers, and the host-fdb commands it received.
  let answer: HostFdb__Output = { node: '', entries: [], nextPageToken: '', vnis: [] };
  const asked: HostFdbRequest[] = [];

  before(async () => {
    dir = makeTempDir('host-fdb-rpc');
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
    endpoints = new (v1().EndpointService)(server.address, operatorCredentials(dir));
    const stream = {
      write: (m: ServerMessage) => {
        const c = m.command;
        if (c?.hostFdb) {
          asked.push(c.hostFdb);
          setImmediate(() => server.hub.commandResult('h1', { id: String(c.id), error: '', code: 0, hostFdb: answer }));
        }
        return true;
      },
      end: () => undefined,
      emit: () => true,
    } as unknown as AgentStream;
    const hello = { vtep: '198.18.0.1', gossipAddress: '198.18.0.1:7946', incarnation: '1', agentVersion: 'test' };
    server.hub.attach({ node: 'h1', ...hello, configRevision: '0' }, stream);
  });

  after(async () => {
    endpoints?.close();
    await server?.shutdown();
    await store?.close().catch(() => undefined);
    removeTempDir(dir);
  });

  const get = (req: HostFdbRequest) => unaryCall<HostFdb__Output>((o, cb) => endpoints.getHostFdb(req, o, cb), 5000);
  const failure = async (req: HostFdbRequest): Promise<grpc.ServiceError> => {
    try {
      await get(req);
    } catch (err) {
      return err as grpc.ServiceError;
    }
    throw new Error('the call succeeded');
  };

  it("answers the agent's page, for the host whose stream answered whatever the answer names", async () => {
    answer = { node: 'h2', entries: [entry], nextPageToken: 'k', vnis: [42] };
    const res = await get({ node: 'h1', vni: 42, pageToken: 'a' });
    assert.deepEqual(res, { node: 'h1', entries: [entry], nextPageToken: 'k', vnis: [42] });
    assert.deepEqual(asked.at(-1), { node: 'h1', vni: 42, pageSize: 1000, pageToken: 'a' });
  });

  it('refuses a page over 1000, a long token and a bad VNI before asking the agent', async () => {
    const before = asked.length;
    for (const [req, field] of [
      [{ node: 'h1', pageSize: 1001 }, 'page_size'],
      [{ node: 'h1', pageToken: 'x'.repeat(257) }, 'page_token'],
      [{ node: 'h1', vni: 1 << 24 }, 'vni'],
    ] as const) {
      const err = await failure(req);
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
      assert.match(err.details, new RegExp(field));
    }
    assert.equal(asked.length, before);
  });

  it('refuses an agent answer of more than a page', async () => {
    answer = { node: 'h1', entries: Array.from({ length: 1001 }, () => entry), nextPageToken: '', vnis: [42] };
    const err = await failure({ node: 'h1' });
    assert.equal(err.code, grpc.status.INTERNAL);
    assert.match(err.details, /agent h1 answered 1001 entries, over the 1000 of a page/);
  });

  it('is NOT_FOUND for a host whose agent never connected (most often a typo)', async () => {
    const err = await failure({ node: 'h9' });
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.match(err.details, /no agent named h9/);
  });
});
