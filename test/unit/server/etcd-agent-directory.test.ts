import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { AgentHub, AgentStream } from '../../../server/agent-hub';
import { EtcdAgentDirectory } from '../../../server/etcd/etcd-agent-directory';
import { connectEtcd } from '../../../server/etcd/etcd-client';
import { RpcError } from '../../../server/grpc-errors';
import { createLogger } from '../../../common/log';
import { requirePrograms } from '../../helpers/require-root';
import { ETCD, LocalEtcd } from '../../../lab/local-etcd';
import { TestPki } from '../../helpers/test-pki';
import { FakeStream, hello } from '../../helpers/fake-agent-stream';
import { eventually } from '../../../lab/eventually';

// Two server replicas' hubs, each with its own etcd client and directory, as two processes have.
describe('agents across server replicas (etcd)', function () {
  let etcd: LocalEtcd | undefined;
  let pki: TestPki;
  let clients: Etcd3[] = [];
  let directories: EtcdAgentDirectory[] = [];
  let run = 0;
  const log = createLogger({ component: 'test', level: 'error' });

  const replica = async (prefix: string) => {
    const client = connectEtcd({ endpoints: [etcd!.endpoint] });
    clients.push(client);
    const directory = await EtcdAgentDirectory.open(client, prefix, log);
    directories.push(directory);
    const hub = new AgentHub(log, await pki.configSigner(), 2_000);
    hub.join(directory);
    return { hub, directory };
  };

  before(async function () {
    requirePrograms(this, ETCD);
    etcd = await LocalEtcd.start();
    pki = await TestPki.create();
  });
  after(() => etcd?.stop());
  afterEach(async () => {
    await Promise.all(directories.map((d) => d.close().catch(() => undefined)));
    for (const client of clients) client.close();
    [clients, directories] = [[], []];
  });

  it('lists an agent connected to another replica as connected, alive, with its programming status', async () => {
    const prefix = `dir-${++run}/`;
    const [a, b] = [await replica(prefix), await replica(prefix)];
    const stream = new FakeStream();
    a.hub.attach(hello('h1'), stream as unknown as AgentStream);
    a.hub.recordStatus('h1', [], 5);
    await eventually(
      () =>
        assert.ok(
          b.hub.nodes().some((n) => n.name === 'h1' && n.configRevision === 5),
          'B lists h1',
        ),
      15_000,
      20,
    );
    const [h1] = b.hub.nodes();
    assert.equal(h1.connected, true);
    assert.equal(h1.state, 'NODE_STATE_ALIVE');
    assert.deepEqual(b.hub.sessionOf('h1'), { vtep: '198.18.0.1', connected: true });
    assert.deepEqual(b.hub.vteps(), [{ node: 'h1', vtep: '198.18.0.1' }]);

    a.hub.detach('h1', stream as unknown as AgentStream);
    await eventually(
      () => assert.ok(b.hub.nodes().length === 0, 'B forgets h1 once its stream on A ended'),
      15_000,
      20,
    );
  });

  it('carries a command to the replica holding the agent and its answer back', async () => {
    const prefix = `dir-${++run}/`;
    const [a, b] = [await replica(prefix), await replica(prefix)];
    const stream = new FakeStream();
    a.hub.attach(hello('h1'), stream as unknown as AgentStream);
    await eventually(() => assert.ok(b.hub.sessionOf('h1')?.connected === true, 'B sees h1'), 15_000, 20);
    const answer = b.hub.sendCommand('h1', { listKeys: {} });
    await eventually(() => assert.ok(stream.commands.length === 1, 'the agent on A receives the command'), 15_000, 20);
    assert.ok(stream.commands[0].listKeys, 'the command arrives whole');
    a.hub.commandResult('h1', {
      id: String(stream.commands[0].id),
      error: '',
      keyring: { keys: { k1: 3 }, nodes: 3 },
    } as never);
    const result = await answer;
    assert.deepEqual([result.keyring?.keys, result.keyring?.nodes], [{ k1: 3 }, 3]);

    // An agent that does not answer: the sender's deadline, naming the replica.
    const silent = b.hub.sendCommand('h1', { listKeys: {} });
    const err = await silent.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof RpcError && err.code === grpc.status.DEADLINE_EXCEEDED, String(err));
    assert.match((err as Error).message, new RegExp(`connected to replica ${a.directory.replica}`));

    // Every agent of every replica answers a fan-out.
    b.hub.attach(hello('h2'), new FakeStream() as unknown as AgentStream);
    const everyone = b.hub.commandEveryAgent({ listKeys: {} });
    await eventually(() => assert.ok(stream.commands.length === 3, 'the agent on A receives the fan-out'), 15_000, 20);
    a.hub.commandResult('h1', { id: String(stream.commands[2].id), error: '' } as never);
    const nodes = (await everyone).map((r) => r.node).sort();
    assert.deepEqual(nodes, ['h1', 'h2']);
  });

  it("drops a dead replica's agents once its lease ends", async () => {
    const prefix = `dir-${++run}/`;
    const [a, b] = [await replica(prefix), await replica(prefix)];
    a.hub.attach(hello('h1'), new FakeStream() as unknown as AgentStream);
    await eventually(() => assert.ok(b.hub.sessionOf('h1')?.connected === true, 'B sees h1'), 15_000, 20);
    // Closing revokes A's lease, as its expiry does for a replica killed with SIGKILL.
    await a.directory.close();
    await eventually(() => assert.ok(b.hub.sessionOf('h1') === undefined, "B drops A's agent"), 15_000, 20);
  });
});
