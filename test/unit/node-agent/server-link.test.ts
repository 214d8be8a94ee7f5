import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { ServerLink } from '../../../node-agent/server-link';
import { messageCodec } from '../../../common/proto-codec';
import type { VniConfig as VniConfigProto, VniConfig__Output } from '../../../generated/vxgossip/v1/VniConfig';
import { createLogger } from '../../../common/log';
import { v1 } from '../../../common/proto';
import { vniFromProto, vniToProto } from '../../../common/vni-proto';
import type { VniConfig } from '../../../common/vni';
import type { AgentMessage__Output } from '../../../generated/vxgossip/v1/AgentMessage';
import type { ServerMessage } from '../../../generated/vxgossip/v1/ServerMessage';
import type { Command__Output } from '../../../generated/vxgossip/v1/Command';
import type { CommandResult } from '../../../generated/vxgossip/v1/CommandResult';
import { eventually } from '../../../lab/eventually';

const configCodec = messageCodec<VniConfigProto, VniConfig__Output>('vxgossip.v1.VniConfig');

type ServerStream = grpc.ServerDuplexStream<AgentMessage__Output, ServerMessage>;

interface Call {
  stream: ServerStream;
  received: AgentMessage__Output[];
  cancelled: boolean;
}

// The AgentService with nothing behind it: every Connect is kept, with what the agent sent on it, so
// the test can answer as a server would. It can go away and come back on the same port.
class FakeAgentService {
  readonly calls: Call[] = [];
  private server: grpc.Server | undefined;
  port = 0;

  async start(): Promise<void> {
    const server = new grpc.Server();
    server.addService(v1().AgentService.service, {
      Connect: (stream: ServerStream) => {
        const call: Call = { stream, received: [], cancelled: false };
        this.calls.push(call);
        stream.on('data', (msg: AgentMessage__Output) => call.received.push(msg));
        stream.on('cancelled', () => (call.cancelled = true));
        stream.on('error', () => undefined);
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
  }

  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  // The n-th Connect, once it has said Hello.
  async connected(n: number): Promise<Call> {
    return eventually(
      () => {
        const call = this.calls[n];
        assert.ok(call?.received[0]?.hello, `connection ${n} said Hello`);
        return call;
      },
      5000,
      10,
    );
  }
}

// The link's first retry comes within 240 ms of losing the stream (200 ms ± 20 %).
const PAST_FIRST_RETRY_MS = 600;

const vni42: VniConfig = {
  id: 42,
  name: 'vni-42',
  mtu: 1400,
  dstport: 4789,
  mode: 'l2',
  multicastGroup: '',
  subnet: '',
  datapath: '',
  revision: 3,
  createTimeMs: 1,
  updateTimeMs: 2,
};

describe('server link (agent side of the agent stream)', () => {
  let service: FakeAgentService;
  let link: ServerLink;
  let configs: Array<[number, VniConfig[]]>;
  let commands: Command__Output[];
  let answer: (command: Command__Output) => Promise<CommandResult>;
  let connects: number;
  let configRevision: number;

  beforeEach(async () => {
    service = new FakeAgentService();
    await service.start();
    configs = [];
    commands = [];
    connects = 0;
    configRevision = 0;
    answer = async (command) => ({ id: command.id, error: '' });
    link = new ServerLink(
      [service.address],
      () => ({
        node: 'h1',
        vtep: '198.18.0.1',
        gossipAddress: '198.18.0.1:7946',
        incarnation: 4,
        agentVersion: 'test',
        configRevision,
      }),
      {
        onConfig: (signed) => {
          // The link passes the signed configuration on as it came; the follower verifies it.
          const decoded = configCodec.decode(signed.config);
          configs.push([Number(decoded.revision), decoded.vnis.map(vniFromProto)]);
          configRevision = Number(decoded.revision);
        },
        onCommand: (command) => {
          commands.push(command);
          return answer(command);
        },
        onConnected: () => connects++,
      },
      createLogger({ component: 'test', level: 'error', write: () => undefined }),
      grpc.credentials.createInsecure(),
    );
  });

  afterEach(() => {
    link.close();
    service.stop();
  });

  // What a server does first on every stream: push the configuration, which also tells the agent
  // the stream is up.
  const welcome = (call: Call, revision = 3, vnis = [vni42]) =>
    call.stream.write({
      config: {
        config: configCodec.encode({ revision, vnis: vnis.map(vniToProto) }),
        signature: Buffer.alloc(64),
        signer: Buffer.alloc(0),
      },
    });

  it('says Hello first, and counts as connected only once the server has answered', async () => {
    link.start();
    const call = await service.connected(0);
    assert.deepEqual(call.received[0].hello, {
      node: 'h1',
      vtep: '198.18.0.1',
      gossipAddress: '198.18.0.1:7946',
      incarnation: '4',
      agentVersion: 'test',
      configRevision: '0',
    });
    assert.equal(link.connected, false);
    welcome(call);
    await eventually(() => assert.ok(link.connected), 2000, 10);
    assert.equal(connects, 1);
  });

  it('hands the configuration the server pushes to onConfig', async () => {
    link.start();
    const call = await service.connected(0);
    welcome(call);
    welcome(call, 5, []);
    await eventually(() => assert.equal(configs.length, 2), 2000, 10);
    assert.deepEqual(configs, [
      [3, [vni42]],
      [5, []],
    ]);
  });

  it('carries out a command and sends its result back on the stream', async () => {
    link.start();
    const call = await service.connected(0);
    welcome(call);
    answer = async (command) => ({ id: command.id, error: 'no such key', code: grpc.status.NOT_FOUND });
    call.stream.write({ command: { id: 7, removeKey: { key: 'k' } } });
    const result = await eventually(
      () => {
        const found = call.received.find((m) => m.commandResult);
        assert.ok(found, 'a command result');
        return found.commandResult!;
      },
      2000,
      10,
    );
    assert.equal(commands.length, 1);
    assert.equal(commands[0].id, '7');
    assert.equal(commands[0].removeKey?.key, 'k');
    assert.deepEqual([result.id, result.error, result.code], ['7', 'no such key', grpc.status.NOT_FOUND]);
  });

  it('sends status, membership and records while connected; the status after the changes settle', async () => {
    link.start();
    const call = await service.connected(0);
    welcome(call);
    await eventually(() => assert.ok(link.connected), 2000, 10);
    link.sendStatus({
      vnis: [{ vni: 42, desired: 1, programmed: 1, error: '', devicesReady: true }],
      configRevision: 3,
    });
    link.sendMembership([{ name: 'h2', state: 'NODE_STATE_ALIVE' }]);
    link.sendRecords([]);
    link.sendRecords([{ owner: 'h1', version: { incarnation: 4, counter: 1 }, tombstone: true, originTimeMs: 0 }]);
    link.sendStatus({
      vnis: [{ vni: 42, desired: 2, programmed: 2, error: '', devicesReady: true }],
      configRevision: 3,
    });
    await new Promise((r) => setTimeout(r, 300));
    await eventually(
      () =>
        assert.deepEqual(
          call.received.map((m) => m.msg),
          ['hello', 'membership', 'records', 'status'],
        ),
      2000,
      10,
    );
    assert.equal(call.received[1].membership!.members[0].name, 'h2');
    assert.equal(call.received[2].records!.records[0].owner, 'h1');
    assert.equal(call.received[3].status!.vnis[0].programmed, 2, 'only the latest of a burst');
  });

  it('sends many records in messages of at most 1,024', async () => {
    link.start();
    const call = await service.connected(0);
    welcome(call);
    await eventually(() => assert.ok(link.connected), 2000, 10);
    const record = { owner: 'h1', version: { incarnation: 4, counter: 1 }, tombstone: true, originTimeMs: 0 };
    link.sendRecords(Array.from({ length: 2500 }, () => record));
    await eventually(() => assert.equal(call.received.length, 4), 2000, 10);
    assert.deepEqual(
      call.received.slice(1).map((m) => m.records!.records.length),
      [1024, 1024, 452],
    );
  });

  it('reconnects when the server comes back, with a fresh Hello and its last status', async () => {
    link.start();
    const first = await service.connected(0);
    welcome(first);
    await eventually(() => assert.equal(configRevision, 3), 2000, 10);
    link.sendStatus({
      vnis: [{ vni: 42, desired: 2, programmed: 1, error: '', devicesReady: true }],
      configRevision: 3,
    });
    service.stop();
    await eventually(() => assert.equal(link.connected, false), 2000, 10);
    link.sendStatus({
      vnis: [{ vni: 42, desired: 2, programmed: 2, error: '', devicesReady: true }],
      configRevision: 3,
    });
    await service.start();
    const second = await service.connected(1);
    assert.equal(second.received[0].hello!.configRevision, '3', 'Hello says which configuration the agent has');
    welcome(second);
    await eventually(
      () =>
        assert.deepEqual(
          second.received.map((m) => m.msg),
          ['hello', 'status'],
        ),
      2000,
      10,
    );
    assert.equal(second.received[1].status!.vnis[0].programmed, 2, 'the status set while disconnected');
    assert.equal(connects, 2);
  });

  it('reconnects when the server ends the stream cleanly, as it does to a stream a newer one replaced', async () => {
    link.start();
    const first = await service.connected(0);
    welcome(first);
    await eventually(() => assert.ok(link.connected), 2000, 10);
    first.stream.end();
    welcome(await service.connected(1));
    await eventually(() => assert.equal(connects, 2), 2000, 10);
  });

  it('stops for good on close(): the stream is cancelled and no reconnection follows', async () => {
    link.start();
    const call = await service.connected(0);
    welcome(call);
    await eventually(() => assert.ok(link.connected), 2000, 10);
    link.close();
    await eventually(() => assert.ok(call.cancelled, 'the server saw the stream cancelled'), 2000, 10);
    assert.equal(link.connected, false);
    await new Promise((r) => setTimeout(r, PAST_FIRST_RETRY_MS));
    assert.equal(service.calls.length, 1);
  });

  it('stops retrying when closed while the server is away', async () => {
    link.start();
    welcome(await service.connected(0));
    await eventually(() => assert.ok(link.connected), 2000, 10);
    service.stop();
    await eventually(() => assert.equal(link.connected, false), 2000, 10);
    link.close();
    await service.start();
    await new Promise((r) => setTimeout(r, PAST_FIRST_RETRY_MS));
    assert.equal(service.calls.length, 1);
  });

  describe('with several server addresses (replicas)', () => {
    let other: FakeAgentService;

    beforeEach(async () => {
      other = new FakeAgentService();
      await other.start();
    });

    afterEach(() => other.stop());

    const twoServerLink = (addresses: string[]) => {
      link.close();
      connects = 0;
      link = new ServerLink(
        addresses,
        () => ({ node: 'h1', vtep: '198.18.0.1', incarnation: 4, agentVersion: 'test', configRevision }),
        {
          onConfig: () => undefined,
          onCommand: (command) => answer(command),
          // As the agent does: everything it owns, again, on every connect.
          onConnected: () => {
            connects++;
            link.sendRecords([
              { owner: 'h1', version: { incarnation: 4, counter: 9 }, tombstone: true, originTimeMs: 0 },
            ]);
          },
        },
        createLogger({ component: 'test', level: 'error', write: () => undefined }),
        grpc.credentials.createInsecure(),
      );
      return link;
    };

    it('moves to the next replica when its replica goes away, and resyncs there', async () => {
      twoServerLink([service.address, other.address]).start();
      welcome(await service.connected(0));
      await eventually(() => assert.equal(link.server, service.address), 2000, 10);
      service.stop();
      const moved = await other.connected(0);
      assert.equal(moved.received[0].hello!.node, 'h1');
      welcome(moved);
      await eventually(
        () =>
          assert.deepEqual(
            moved.received.map((m) => m.msg),
            ['hello', 'records'],
          ),
        3000,
        10,
      );
      assert.equal(moved.received[1].records!.records[0].version!.counter, '9');
      assert.equal(link.server, other.address);
      assert.equal(connects, 2);
    });

    it('tries the next address when the first is unreachable from the start', async () => {
      service.stop();
      twoServerLink([service.address, other.address]).start();
      welcome(await other.connected(0));
      await eventually(() => assert.equal(link.server, other.address), 3000, 10);
    });

    it('goes round the list, not back to the replica that just failed', async () => {
      twoServerLink([service.address, other.address]).start();
      welcome(await service.connected(0));
      await eventually(() => assert.ok(link.connected), 2000, 10);
      // A replica that ends the stream (shutting down) but still accepts connections.
      service.calls[0].stream.end();
      welcome(await other.connected(0));
      await eventually(() => assert.equal(link.server, other.address), 3000, 10);
      assert.equal(service.calls.length, 1, 'not dialled again while the other answers');
    });
  });
});
