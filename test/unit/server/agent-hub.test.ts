import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { AgentHub, AgentStream, MAX_MEMBERSHIP, STATUS_ERROR_MAX } from '../../../server/agent-hub';
import { RpcError } from '../../../server/grpc-errors';
import { createLogger } from '../../../common/log';
import type { VniConfig } from '../../../common/vni';
import type { ServerMessage } from '../../../generated/vxgossip/v1/ServerMessage';
import type { Hello__Output } from '../../../generated/vxgossip/v1/Hello';
import type { Node__Output } from '../../../generated/vxgossip/v1/Node';
import type { ProgrammingStatus__Output } from '../../../generated/vxgossip/v1/ProgrammingStatus';
import { openSignedConfig } from '../../../common/trust/signed-config';
import { TestPki } from '../../helpers/test-pki';
import { FakeStream, hello } from '../../helpers/fake-agent-stream';

let pki: TestPki;
before(async () => {
  pki = await TestPki.create();
});
// The configuration a message carries, once its signature verified.
const configOf = (m: ServerMessage) => (m.config ? openSignedConfig(m.config as never, pki.anchor) : undefined);

const member = (name: string, state: Node__Output['state']): Node__Output => ({
  name,
  vtep: '',
  state,
  stateSinceMs: '0',
  vnis: [],
  gossipAddress: '',
  incarnation: '0',
  agentVersion: '',
  connected: false,
  lastSeenMs: '0',
  programming: [],
  configRevision: '0',
});

const programmed = (vni: number, devicesReady = true): ProgrammingStatus__Output => ({
  vni,
  desired: 2,
  programmed: 2,
  error: '',
  devicesReady,
  conflicts: [],
});

const vni = (id: number): VniConfig => ({
  id,
  name: `vni-${id}`,
  mtu: 0,
  dstport: 4789,
  mode: 'l2',
  multicastGroup: '',
  subnet: '',
  datapath: '',
  revision: 1,
  createTimeMs: 0,
  updateTimeMs: 0,
});

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    return err;
  }
  throw new Error('resolved, but was expected to reject');
}

describe('agent hub', () => {
  let warnings: string[];
  let hub: AgentHub;
  let events: string[];
  const connect = (node: string, over: Partial<Hello__Output> = {}) => {
    const stream = new FakeStream();
    hub.attach(hello(node, over), stream as unknown as AgentStream);
    return stream;
  };
  const disconnect = (node: string, stream: FakeStream) => hub.detach(node, stream as unknown as AgentStream);

  beforeEach(async () => {
    warnings = [];
    const log = createLogger({
      component: 'test',
      write: (line) => {
        const record = JSON.parse(line) as { level: string; msg: string };
        if (record.level === 'warn') warnings.push(record.msg);
      },
    });
    hub = new AgentHub(log, await pki.configSigner(), 50);
    events = [];
    hub.on('node', (name) => events.push(name));
  });

  describe('sessions', () => {
    it('sends a connecting agent the current configuration and reports it connected', () => {
      hub.setConfig(3, [vni(42)], []);
      const s = connect('h1', { configRevision: '2' });
      assert.deepEqual(
        s.sent.map((m) => [Number(configOf(m)?.revision), configOf(m)?.vnis.map((v) => v.id)]),
        [[3, [42]]],
      );
      assert.deepEqual(hub.sessionOf('h1'), { vtep: '198.18.0.1', connected: true });
      assert.equal(hub.sessionOf('h2'), undefined);
      assert.deepEqual(events, ['h1']);
      assert.equal(hub.nodes()[0].configRevision, 2);
    });

    it('pushes every configuration change to the connected agents only', () => {
      hub.setConfig(0, [], []);
      const s1 = connect('h1');
      const s2 = connect('h2');
      disconnect('h2', s2);
      hub.setConfig(7, [vni(42), vni(43)], []);
      assert.deepEqual(
        s1.sent.map((m) => Number(configOf(m)?.revision ?? 0)),
        [0, 7],
      );
      assert.deepEqual(
        configOf(s1.sent[1])!.vnis.map((v) => v.id),
        [42, 43],
      );
      assert.equal(s2.sent.length, 1);
    });

    it('keeps a disconnected agent as a node that is not connected, with when it was last seen', () => {
      const s = connect('h1');
      const before = Date.now();
      disconnect('h1', s);
      assert.deepEqual(hub.sessionOf('h1'), { vtep: '198.18.0.1', connected: false });
      const [node] = hub.nodes();
      assert.equal(node.connected, false);
      assert.ok(Number(node.lastSeenMs) >= before);
      assert.deepEqual(events, ['h1', 'h1']);
    });

    it('a reconnecting agent replaces its old stream, which is ended and whose late detach changes nothing', () => {
      hub.setConfig(1, [vni(42)], []);
      const old = connect('h1');
      connect('h2');
      disconnect('h3', connect('h3'));
      hub.recordStatus('h1', [programmed(42)], 1);
      hub.recordMembership('h1', [member('h3', 'NODE_STATE_DEAD')]);
      const fresh = connect('h1', { incarnation: '2' });
      assert.equal(old.ended, true);
      assert.equal(fresh.ended, false);
      disconnect('h1', old);
      assert.equal(hub.sessionOf('h1')!.connected, true);
      const h1 = hub.nodes().find((n) => n.name === 'h1')!;
      assert.equal(h1.incarnation, '2');
      assert.deepEqual(h1.vnis, [42], 'the status survives the reconnection');
      assert.equal(hub.gossipState('h3'), 'NODE_STATE_DEAD', 'and so does the membership view');
      disconnect('h2', new FakeStream());
      assert.equal(hub.sessionOf('h2')!.connected, true, 'a stream the hub does not hold detaches nothing');
    });

    it('ends every stream on closeAll', () => {
      const streams = [connect('h1'), connect('h2')];
      hub.closeAll();
      assert.deepEqual(
        streams.map((s) => s.ended),
        [true, true],
      );
    });
  });

  describe('commands', () => {
    it('routes a command to its agent and resolves with the result that carries its id', async () => {
      const s1 = connect('h1');
      const s2 = connect('h2');
      const first = hub.sendCommand('h1', { listKeys: {} });
      const second = hub.sendCommand('h1', { listKeys: {} });
      assert.equal(s2.commands.length, 0);
      const [c1, c2] = s1.commands;
      assert.ok(c1.listKeys && c2.listKeys);
      assert.notEqual(c1.id, c2.id);
      hub.commandResult('h1', { id: String(c2.id), error: 'second', code: 0 });
      hub.commandResult('h1', { id: String(c1.id), error: 'first', code: 0 });
      assert.equal((await first).error, 'first');
      assert.equal((await second).error, 'second');
    });

    it('ignores a result for an unknown id, or from another agent than the one asked', async () => {
      const s1 = connect('h1');
      connect('h2');
      const pending = hub.sendCommand('h1', { listKeys: {} });
      const id = String(s1.commands[0].id);
      hub.commandResult('h1', { id: '999', error: 'unknown', code: 0 });
      hub.commandResult('h2', { id, error: 'wrong agent', code: 0 });
      assert.deepEqual(warnings, ['command result for no pending command', 'command result for no pending command']);
      hub.commandResult('h1', { id, error: 'right', code: 0 });
      assert.equal((await pending).error, 'right');
    });

    it('refuses a command for an agent that never connected (NOT_FOUND) or is not connected now (UNAVAILABLE)', async () => {
      const unknown = await rejection(hub.sendCommand('h9', { listKeys: {} }));
      assert.equal(unknown.code, grpc.status.NOT_FOUND);
      assert.match(unknown.message, /no agent named h9 has connected to this server: check the name/);
      const s = connect('h1');
      disconnect('h1', s);
      const err = await rejection(hub.sendCommand('h1', { listKeys: {} }));
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.match(err.message, /not connected/);
      assert.equal(s.commands.length, 0);
    });

    it('fails the pending commands of an agent that disconnects, and only those', async () => {
      const s1 = connect('h1');
      const s2 = connect('h2');
      const lost = hub.sendCommand('h1', { listKeys: {} });
      const kept = hub.sendCommand('h2', { listKeys: {} });
      disconnect('h1', s1);
      const err = await rejection(lost);
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.match(err.message, /disconnected before answering/);
      hub.commandResult('h2', { id: String(s2.commands[0].id), error: '', code: 0 });
      assert.equal((await kept).error, '');
    });

    it('gives up on an agent that does not answer in time; a late answer is ignored', async () => {
      const s = connect('h1');
      const err = await rejection(hub.sendCommand('h1', { listKeys: {} }));
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
      hub.commandResult('h1', { id: String(s.commands[0].id), error: '', code: 0 });
      assert.deepEqual(warnings, ['command result for no pending command']);
    });
  });

  describe('status and membership', () => {
    it("keeps each agent's programming status per VNI and announces only changes", () => {
      hub.setConfig(5, [vni(42), vni(43)], []);
      connect('h2');
      connect('h1');
      events.length = 0;
      hub.recordStatus('h2', [programmed(42), programmed(43, false)], 5);
      hub.recordStatus('h1', [programmed(42)], 5);
      hub.recordStatus('h1', [programmed(42)], 5);
      assert.deepEqual(events, ['h2', 'h1']);
      hub.recordStatus('h1', [programmed(42)], 6);
      assert.deepEqual(events, ['h2', 'h1', 'h1'], 'a new config revision is a change');
      assert.deepEqual(
        hub.statusOf(42).map((s) => s.node),
        ['h1', 'h2'],
      );
      assert.deepEqual(
        hub.statusOf(43).map((s) => [s.node, s.status.devicesReady]),
        [['h2', false]],
      );
      assert.deepEqual(hub.statusOf(44), []);
      const nodes = hub.nodes();
      assert.deepEqual(
        nodes.map((n) => [n.name, n.vnis, n.configRevision]),
        [
          ['h1', [42], 6],
          ['h2', [42], 5],
        ],
      );
      hub.recordStatus('h9', [programmed(42)], 1);
      assert.equal(hub.nodes().length, 2, 'a status from an unknown agent is dropped');
    });

    it('keeps a status only for configured VNIs, one entry each, with its error cut', () => {
      hub.setConfig(5, [vni(42)], []);
      connect('h1');
      const failed = { ...programmed(42, false), error: 'x'.repeat(1_000_000) };
      hub.recordStatus(
        'h1',
        [failed, programmed(42), ...Array.from({ length: 1000 }, (_, i) => programmed(i + 1000))],
        5,
      );
      const [status] = hub.statusOf(42).map((s) => s.status);
      assert.deepEqual(
        hub.nodes()[0].programming?.map((p) => p.vni),
        [42],
      );
      assert.equal(status.error, `${'x'.repeat(STATUS_ERROR_MAX)}…`);
    });

    it('a connected agent is alive; otherwise the best report of a connected agent wins', () => {
      const s1 = connect('h1');
      connect('h2');
      const s3 = connect('h3');
      assert.equal(hub.gossipState('h1'), 'NODE_STATE_ALIVE');
      disconnect('h1', s1);
      assert.equal(hub.gossipState('h1'), 'NODE_STATE_UNSPECIFIED', 'nobody has reported on h1');
      hub.recordMembership('h2', [member('h1', 'NODE_STATE_DEAD')]);
      hub.recordMembership('h3', [member('h1', 'NODE_STATE_SUSPECT')]);
      assert.equal(hub.gossipState('h1'), 'NODE_STATE_SUSPECT', 'suspect outranks dead');
      disconnect('h3', s3);
      assert.equal(hub.gossipState('h1'), 'NODE_STATE_DEAD', "a disconnected agent's view does not count");
      assert.equal(hub.nodes().find((n) => n.name === 'h1')!.state, 'NODE_STATE_DEAD');
    });

    it('announces the known nodes whose state a membership report changes', () => {
      connect('h1');
      connect('h2');
      connect('h3');
      events.length = 0;
      hub.recordMembership('h1', [
        member('h2', 'NODE_STATE_ALIVE'),
        member('h3', 'NODE_STATE_ALIVE'),
        member('x', 'NODE_STATE_ALIVE'),
      ]);
      assert.deepEqual(events, ['h2', 'h3'], 'x never connected to this server');
      hub.recordMembership('h1', [member('h2', 'NODE_STATE_ALIVE'), member('h3', 'NODE_STATE_SUSPECT')]);
      assert.deepEqual(events, ['h2', 'h3', 'h3']);
      hub.recordMembership('h9', [member('h1', 'NODE_STATE_DEAD')]);
      assert.deepEqual(events, ['h2', 'h3', 'h3'], 'a report from an unknown agent is dropped');
    });

    it('refuses an oversized or malformed membership report whole, keeping the previous view', () => {
      connect('h1');
      disconnect('h2', connect('h2'));
      hub.recordMembership('h1', [member('h2', 'NODE_STATE_SUSPECT')]);
      const huge = Array.from({ length: MAX_MEMBERSHIP + 1 }, (_, i) => member(`g${i}`, 'NODE_STATE_ALIVE'));
      assert.throws(
        () => hub.recordMembership('h1', huge),
        (err: RpcError) =>
          err.code === grpc.status.RESOURCE_EXHAUSTED && /10001 members exceeds 10000/.test(err.message),
      );
      assert.throws(
        () =>
          hub.recordMembership('h1', [
            member('h2', 'NODE_STATE_DEAD'),
            member('x'.repeat(100_000), 'NODE_STATE_ALIVE'),
          ]),
        /membership\.members\.name/,
      );
      assert.equal(hub.gossipState('h2'), 'NODE_STATE_SUSPECT', 'the last valid report stands');
      const full = Array.from({ length: MAX_MEMBERSHIP }, (_, i) => member(`g${i}`, 'NODE_STATE_ALIVE'));
      hub.recordMembership('h1', [...full.slice(1), member('h2', 'NODE_STATE_DEAD')]);
      assert.equal(hub.gossipState('h2'), 'NODE_STATE_DEAD');
    });

    it('lists the nodes by name with what their agents said in Hello', () => {
      connect('h2');
      connect('h1', { gossipAddress: '198.18.0.1:7000', agentVersion: '1.2.3', incarnation: '4' });
      const [h1, h2] = hub.nodes();
      assert.deepEqual([h1.name, h2.name], ['h1', 'h2']);
      assert.deepEqual(
        {
          vtep: h1.vtep,
          gossipAddress: h1.gossipAddress,
          agentVersion: h1.agentVersion,
          incarnation: h1.incarnation,
          connected: h1.connected,
          state: h1.state,
        },
        {
          vtep: '198.18.0.1',
          gossipAddress: '198.18.0.1:7000',
          agentVersion: '1.2.3',
          incarnation: '4',
          connected: true,
          state: 'NODE_STATE_ALIVE',
        },
      );
    });
  });
});
