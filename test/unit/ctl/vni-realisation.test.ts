import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import type { Node__Output } from '../../../generated/vxgossip/v1/Node';
import type { NodeEvent__Output } from '../../../generated/vxgossip/v1/NodeEvent';
import { NodeEvents, awaitRealisation, judgeHost } from '../../../ctl/vni-realisation';
import { expandOptionalValues } from '../../../ctl/optional-flag-values';

type Programming = Node__Output['programming'][number];

const ready = (vni: number, over: Partial<Programming> = {}): Programming => ({
  vni,
  desired: 0,
  programmed: 0,
  error: '',
  devicesReady: true,
  conflicts: [],
  ...over,
});

function node(name: string, over: Partial<Node__Output> = {}): Node__Output {
  return {
    name,
    vtep: '198.18.0.1',
    state: 'NODE_STATE_ALIVE',
    vnis: [],
    gossipAddress: '',
    incarnation: '1',
    agentVersion: '',
    connected: true,
    lastSeenMs: '0',
    programming: [],
    configRevision: '7',
    stateSinceMs: '0',
    ...over,
  };
}

class FakeWatch extends EventEmitter implements NodeEvents {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
  send(type: NodeEvent__Output['type'], n?: Node__Output): void {
    this.emit('data', { type, node: n ?? null });
  }
}

const created = { vni: 42, revision: 7, deleted: false };
const deleted = { vni: 42, revision: 7, deleted: true };

describe('waiting for every live host to realise a VNI change', () => {
  it('judges a host done only at the revision, with the devices ready and no error', () => {
    assert.equal(judgeHost(created, node('h1', { programming: [ready(42)] })).done, true);
    assert.equal(judgeHost(created, node('h1', { programming: [ready(42)], configRevision: '9' })).done, true);
    const behind = judgeHost(created, node('h1', { programming: [ready(42)], configRevision: '6' }));
    assert.deepEqual(behind, {
      node: 'h1',
      live: true,
      done: false,
      reports: 'at configuration revision 6, not yet 7',
    });
    assert.equal(judgeHost(created, node('h1')).reports, 'has not reported VNI 42');
    assert.equal(
      judgeHost(created, node('h1', { programming: [ready(42, { devicesReady: false })] })).reports,
      'devices of VNI 42 not ready',
    );
    assert.equal(
      judgeHost(created, node('h1', { programming: [ready(42, { devicesReady: false, error: 'EEXIST' })] })).reports,
      'VNI 42: EEXIST',
    );
  });

  it('judges a deletion done once the host is at the revision and no longer reports the VNI', () => {
    assert.equal(judgeHost(deleted, node('h1')).done, true);
    assert.equal(judgeHost(deleted, node('h1', { configRevision: '6' })).done, false);
    assert.equal(judgeHost(deleted, node('h1', { programming: [ready(42)] })).reports, 'still has VNI 42');
  });

  it('waits for a host gossip sees alive but not connected; not for one agent-down, dead, left or unknown', () => {
    const cut = judgeHost(created, node('h1', { connected: false, state: 'NODE_STATE_SUSPECT' }));
    assert.deepEqual(cut, {
      node: 'h1',
      live: true,
      done: false,
      reports: 'not connected to the server (gossip: suspect)',
    });
    for (const state of [
      'NODE_STATE_AGENT_DOWN',
      'NODE_STATE_DEAD',
      'NODE_STATE_LEFT',
      'NODE_STATE_UNSPECIFIED',
    ] as const)
      assert.equal(judgeHost(created, node('h1', { connected: false, state })).live, false, state);
  });

  it('returns once every live host has realised it, as their updates arrive', async () => {
    const watch = new FakeWatch();
    const waiting = awaitRealisation(created, watch, 10_000);
    watch.send('EVENT_TYPE_SNAPSHOT', node('h1', { programming: [ready(42)] }));
    watch.send('EVENT_TYPE_SNAPSHOT', node('h2', { configRevision: '6' }));
    watch.send('EVENT_TYPE_SNAPSHOT', node('h3', { connected: false, state: 'NODE_STATE_AGENT_DOWN' }));
    watch.send('EVENT_TYPE_SNAPSHOT_END');
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'h2 is behind');
    watch.send('EVENT_TYPE_UPDATED', node('h2', { programming: [ready(42)] }));
    const outcome = await waiting;
    assert.equal(outcome.realised, true);
    assert.deepEqual(
      outcome.hosts.map((h) => [h.node, h.live, h.done]),
      [
        ['h1', true, true],
        ['h2', true, true],
        ['h3', false, false],
      ],
    );
    assert.equal(watch.cancelled, true);
  });

  it('does not judge before the snapshot is complete', async () => {
    const watch = new FakeWatch();
    const waiting = awaitRealisation(created, watch, 10_000);
    let settled = false;
    void waiting.then(() => (settled = true));
    watch.send('EVENT_TYPE_SNAPSHOT', node('h1', { programming: [ready(42)] }));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false);
    watch.send('EVENT_TYPE_SNAPSHOT', node('h2', { programming: [ready(42)] }));
    watch.send('EVENT_TYPE_SNAPSHOT_END');
    assert.equal((await waiting).realised, true);
  });

  it('gives up at the deadline with what each host that did not get there reports', async () => {
    const watch = new FakeWatch();
    const waiting = awaitRealisation(created, watch, 50);
    watch.send('EVENT_TYPE_SNAPSHOT', node('h1', { programming: [ready(42)] }));
    watch.send('EVENT_TYPE_SNAPSHOT', node('h2', { configRevision: '5' }));
    watch.send('EVENT_TYPE_SNAPSHOT_END');
    const outcome = await waiting;
    assert.equal(outcome.realised, false);
    assert.deepEqual(
      outcome.hosts.filter((h) => !h.done).map((h) => `${h.node}: ${h.reports}`),
      ['h2: at configuration revision 5, not yet 7'],
    );
    assert.equal(watch.cancelled, true);
  });

  it('fails when the watch fails', async () => {
    const watch = new FakeWatch();
    const waiting = awaitRealisation(created, watch, 10_000);
    watch.emit('error', new Error('stream broke'));
    await assert.rejects(waiting, /stream broke/);
  });
});

describe('flags with an optional value (--wait[=DURATION])', () => {
  const wait = {
    wait: { default: '60s', looksLikeValue: /^\d+(ms|s|m|h)$/, example: '--wait=5s', bare: 'waits up to 60s' },
  };

  it('gives a bare flag its default and keeps --flag=VALUE', () => {
    assert.deepEqual(expandOptionalValues(['42', '--wait'], wait), ['42', '--wait=60s']);
    assert.deepEqual(expandOptionalValues(['--wait', '42'], wait), ['--wait=60s', '42']);
    assert.deepEqual(expandOptionalValues(['42', '--wait=5s'], wait), ['42', '--wait=5s']);
    assert.deepEqual(expandOptionalValues(['--', '--wait'], wait), ['--', '--wait']);
  });

  it('refuses a value as the next word, which would read as an argument', () => {
    assert.throws(
      () => expandOptionalValues(['42', '--wait', '5s'], wait),
      /--wait takes its value after "=": --wait=5s \(a bare --wait waits up to 60s\)/,
    );
  });
});
