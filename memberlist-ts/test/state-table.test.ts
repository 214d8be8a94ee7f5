import { strict as assert } from 'node:assert';
import { Config, defaultLocalConfig } from '../src/config';
import { Alive, MessageType, NodeStateType, PushNodeState, decodeAlive, parseBody } from '../src/messages';
import type { Node } from '../src/node';
import { MAX_INCARNATION, NodeStateTable, ProtocolMismatchError } from '../src/state';

const VSN = [1, 5, 2, 2, 5, 5];
const addr = (last: number) => Buffer.from([10, 0, 0, last]);

// A table with its context recorded: broadcasts queued, refutations, events.
function makeTable(overrides: Partial<Config> = {}) {
  const broadcasts: Array<{ name: string; type: MessageType; message: Buffer }> = [];
  const events: string[] = [];
  let refutes = 0;
  let leaving = false;
  const config: Config = {
    ...defaultLocalConfig('me'),
    events: {
      notifyJoin: (n: Node) => events.push(`join ${n.name}`),
      notifyLeave: (n: Node) => events.push(`leave ${n.name}`),
      notifyUpdate: (n: Node) => events.push(`update ${n.name}`),
    },
    ...overrides,
  };
  const table = new NodeStateTable({
    config,
    localVsn: () => VSN,
    advertised: () => ({ addr: addr(1), port: 7946 }),
    isLeaving: () => leaving,
    broadcast: (name, message, finished) => {
      broadcasts.push({ name, type: message[0], message });
      finished?.();
    },
    onRefute: () => refutes++,
  });
  table.aliveNode(alive('me', 1, 1), true);
  events.length = 0;
  broadcasts.length = 0;
  return {
    table,
    broadcasts,
    events,
    refutes: () => refutes,
    leave: () => (leaving = true),
  };
}

function alive(node: string, incarnation: number, last: number, extra: Partial<Alive> = {}): Alive {
  return { node, incarnation, addr: addr(last), port: 7946, meta: Buffer.from([0xff, 0x80]), vsn: VSN, ...extra };
}

const stateOf = (table: NodeStateTable, name: string) => table.get(name)?.state;

describe('state table: alive, suspect and dead rules', () => {
  it('a new node at incarnation 0 stays dead; at 1 it is alive and announced', () => {
    const { table, events, broadcasts } = makeTable();
    table.aliveNode(alive('a', 0, 2), false);
    assert.equal(stateOf(table, 'a'), NodeStateType.Dead);
    assert.deepEqual(events, []);
    table.aliveNode(alive('a', 1, 2), false);
    assert.equal(stateOf(table, 'a'), NodeStateType.Alive);
    assert.deepEqual(events, ['join a']);
    assert.deepEqual(
      broadcasts.map((b) => [b.name, b.type]),
      [['a', MessageType.Alive]],
    );
  });

  it('only a higher incarnation updates a node; a meta change is an update event', () => {
    const { table, events } = makeTable();
    table.aliveNode(alive('a', 5, 2), false);
    table.aliveNode(alive('a', 5, 2, { meta: Buffer.from('same incarnation') }), false);
    table.aliveNode(alive('a', 4, 2, { meta: Buffer.from('older') }), false);
    assert.deepEqual(table.get('a')!.meta, Buffer.from([0xff, 0x80]));
    table.aliveNode(alive('a', 6, 2, { meta: Buffer.from('newer') }), false);
    assert.deepEqual(table.get('a')!.meta, Buffer.from('newer'));
    assert.deepEqual(events, ['join a', 'update a']);
  });

  it('ignores alive messages with a short Vsn, a bad protocol range, a bad address or no name', () => {
    const { table } = makeTable();
    table.aliveNode(alive('short', 1, 2, { vsn: [1, 5, 2] }), false);
    table.aliveNode(alive('none', 1, 2, { vsn: [] }), false);
    table.aliveNode(alive('range', 1, 2, { vsn: [3, 2, 2, 2, 5, 5] }), false);
    table.aliveNode(alive('zero', 1, 2, { vsn: [0, 5, 2, 2, 5, 5] }), false);
    table.aliveNode(alive('addr', 1, 2, { addr: Buffer.from([1, 2, 3]) }), false);
    table.aliveNode(alive('', 1, 2), false);
    assert.deepEqual(
      table.all().map((n) => n.name),
      ['me'],
    );
  });

  it('a different address for a known name is a conflict, unless the old one has left', () => {
    const conflicts: string[] = [];
    const { table } = makeTable({
      conflict: { notifyConflict: (existing, other) => conflicts.push(`${existing.addr} vs ${other.addr}`) },
    });
    table.aliveNode(alive('a', 1, 2), false);
    table.aliveNode(alive('a', 9, 3), false);
    assert.deepEqual(conflicts, ['10.0.0.2 vs 10.0.0.3']);
    assert.equal(table.get('a')!.incarnation, 1);
    // The same address in IPv4-mapped form is not a conflict.
    table.aliveNode(alive('a', 2, 2, { addr: Buffer.from('00000000000000000000ffff0a000002', 'hex') }), false);
    assert.equal(table.get('a')!.incarnation, 2);
    table.deadNode({ node: 'a', incarnation: 2, from: 'a' });
    assert.equal(stateOf(table, 'a'), NodeStateType.Left);
    // A left node's name may come back from elsewhere, even at a lower incarnation.
    table.aliveNode(alive('a', 1, 3), false);
    assert.equal(stateOf(table, 'a'), NodeStateType.Alive);
    assert.equal(conflicts.length, 1);
  });

  it('an alive delegate can veto a node', () => {
    const { table } = makeTable({
      alive: {
        notifyAlive: (peer) => {
          if (peer.name === 'intruder') throw new Error('not in our cluster');
        },
      },
    });
    table.aliveNode(alive('intruder', 1, 2), false);
    table.aliveNode(alive('friend', 1, 3), false);
    assert.deepEqual(
      table
        .all()
        .map((n) => n.name)
        .sort(),
      ['friend', 'me'],
    );
  });

  it('suspect needs a current incarnation and an alive node; dead from itself means left', () => {
    const { table, events } = makeTable();
    table.aliveNode(alive('a', 3, 2), false);
    table.aliveNode(alive('b', 1, 3), false);
    table.suspectNode({ node: 'a', incarnation: 2, from: 'b' });
    assert.equal(stateOf(table, 'a'), NodeStateType.Alive);
    table.suspectNode({ node: 'a', incarnation: 3, from: 'b' });
    assert.equal(stateOf(table, 'a'), NodeStateType.Suspect);
    table.deadNode({ node: 'a', incarnation: 3, from: 'b' });
    assert.equal(stateOf(table, 'a'), NodeStateType.Dead);
    // Suspecting a dead node changes nothing; dead again is not another event.
    table.suspectNode({ node: 'a', incarnation: 9, from: 'b' });
    table.deadNode({ node: 'a', incarnation: 9, from: 'b' });
    assert.equal(stateOf(table, 'a'), NodeStateType.Dead);
    table.deadNode({ node: 'b', incarnation: 1, from: 'b' });
    assert.equal(stateOf(table, 'b'), NodeStateType.Left);
    assert.deepEqual(events, ['join a', 'join b', 'leave a', 'leave b']);
    table.stop();
  });

  it('tells a suspicion event delegate when a node turns suspect and when a refutation clears it', () => {
    const suspicions: string[] = [];
    const { table, events } = makeTable();
    const { table: withHook } = makeTable({
      events: {
        notifyJoin: () => undefined,
        notifyLeave: () => undefined,
        notifyUpdate: () => undefined,
        notifySuspicion: (n: Node) => suspicions.push(`${n.name} ${NodeStateType[n.state]}`),
      },
    });
    for (const t of [table, withHook]) {
      t.aliveNode(alive('a', 3, 2), false);
      t.suspectNode({ node: 'a', incarnation: 3, from: 'b' });
      t.suspectNode({ node: 'a', incarnation: 3, from: 'c' });
      t.aliveNode(alive('a', 4, 2), false);
      t.stop();
    }
    assert.deepEqual(suspicions, ['a Suspect', 'a Alive'], 'a confirmation is not another event');
    assert.deepEqual(events, ['join a'], 'without the hook, nothing but the join (as in HashiCorp memberlist)');
  });

  it('refutes suspect, dead and foreign alive messages about itself, beating the accusation', () => {
    const { table, broadcasts, refutes } = makeTable();
    table.suspectNode({ node: 'me', incarnation: 1, from: 'x' });
    assert.equal(table.local.incarnation, 2);
    table.deadNode({ node: 'me', incarnation: 10, from: 'x' });
    assert.equal(table.local.incarnation, 11);
    table.aliveNode(alive('me', 11, 1, { meta: Buffer.from('not mine') }), false);
    assert.equal(table.local.incarnation, 12);
    // Exactly what we said ourselves is no reason to refute.
    table.aliveNode(alive('me', 12, 1), false);
    assert.equal(table.local.incarnation, 12);
    assert.equal(table.local.state, NodeStateType.Alive);
    assert.equal(refutes(), 3);
    const last = decodeAlive(parseBody(broadcasts[broadcasts.length - 1].message.subarray(1)));
    assert.deepEqual(last, alive('me', 12, 1));
  });

  it('a refutation never goes past the largest uint32 incarnation', () => {
    const { table } = makeTable();
    table.suspectNode({ node: 'me', incarnation: MAX_INCARNATION, from: 'x' });
    assert.equal(table.local.incarnation, MAX_INCARNATION);
  });

  it('while leaving, accusations about itself are not refuted and a leave goes out', () => {
    const { table, broadcasts, leave } = makeTable();
    leave();
    table.suspectNode({ node: 'me', incarnation: 1, from: 'x' });
    assert.equal(table.local.incarnation, 1);
    let finished = false;
    table.deadNode({ node: 'me', incarnation: 1, from: 'me' }, () => (finished = true));
    assert.equal(table.local.state, NodeStateType.Left);
    assert.ok(finished);
    assert.deepEqual(
      broadcasts.map((b) => b.type),
      [MessageType.Dead],
    );
    // An alive about us still in flight does not bring us back.
    table.aliveNode(alive('me', 5, 1), false);
    assert.equal(table.local.state, NodeStateType.Left);
  });
});

describe('state table: Lifeguard suspicion', () => {
  // probeInterval 10 ms and SuspicionMult 4 with 6 nodes: min 40 ms, max 240 ms, 2 confirmations expected.
  const fast = { probeIntervalMs: 10, suspicionMult: 4, suspicionMaxTimeoutMult: 6 };

  it('independent confirmations shorten the timeout; repeats do not count', async () => {
    const { table, broadcasts } = makeTable(fast);
    for (let i = 2; i <= 6; i++) table.aliveNode(alive(`n${i}`, 1, i), false);
    table.suspectNode({ node: 'n2', incarnation: 1, from: 'n3' });
    table.suspectNode({ node: 'n5', incarnation: 1, from: 'n3' });
    broadcasts.length = 0;
    table.suspectNode({ node: 'n2', incarnation: 1, from: 'n3' });
    table.suspectNode({ node: 'n2', incarnation: 1, from: 'n4' });
    table.suspectNode({ node: 'n2', incarnation: 1, from: 'n6' });
    table.suspectNode({ node: 'n2', incarnation: 1, from: 'n4' });
    // Each new confirmation is passed on; the repeat is not.
    assert.deepEqual(
      broadcasts.map((b) => [b.name, b.type]),
      [
        ['n2', MessageType.Suspect],
        ['n2', MessageType.Suspect],
      ],
    );
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(stateOf(table, 'n2'), NodeStateType.Dead, 'confirmed twice: dead after the minimum');
    assert.equal(stateOf(table, 'n5'), NodeStateType.Suspect, 'unconfirmed: still waiting for the maximum');
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(stateOf(table, 'n5'), NodeStateType.Dead);
    table.stop();
  });

  it('a refuting alive cancels the suspicion', async () => {
    const { table } = makeTable(fast);
    for (let i = 2; i <= 3; i++) table.aliveNode(alive(`n${i}`, 1, i), false);
    // Three nodes: too few for confirmations, so the timeout is the minimum.
    table.suspectNode({ node: 'n2', incarnation: 1, from: 'n3' });
    table.aliveNode(alive('n2', 2, 2), false);
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(stateOf(table, 'n2'), NodeStateType.Alive);
    table.stop();
  });
});

describe('state table: push/pull merge', () => {
  const state = (name: string, s: NodeStateType, incarnation: number, last: number, vsn = VSN): PushNodeState => ({
    name,
    state: s,
    incarnation,
    addr: addr(last),
    port: 7946,
    meta: Buffer.alloc(0),
    vsn,
  });

  it('alive is taken, left is taken, a remote dead only makes a node suspect, and dead about us is refuted', () => {
    const { table } = makeTable();
    table.aliveNode(alive('c', 1, 4), false);
    table.mergeRemoteStates([
      state('a', NodeStateType.Alive, 1, 2),
      state('b', NodeStateType.Left, 1, 3),
      state('c', NodeStateType.Dead, 1, 4),
      state('me', NodeStateType.Dead, 4, 1),
    ]);
    assert.equal(stateOf(table, 'a'), NodeStateType.Alive);
    // 'b' was unknown: a leave about an unknown node records nothing.
    assert.equal(stateOf(table, 'b'), undefined);
    assert.equal(stateOf(table, 'c'), NodeStateType.Suspect);
    assert.equal(table.local.incarnation, 5);
    table.stop();
  });

  it('refuses the whole merge when a node, even a dead one, has an incompatible version', () => {
    const { table } = makeTable();
    assert.throws(
      () =>
        table.mergeRemoteStates([
          state('a', NodeStateType.Alive, 1, 2),
          state('old', NodeStateType.Dead, 1, 3, [1, 5, 2, 0, 1, 1]),
        ]),
      (err: Error) =>
        err instanceof ProtocolMismatchError &&
        /delegate protocol version \(1\) is incompatible: \[2, 5\]/.test(err.message),
    );
    assert.throws(
      () => table.mergeRemoteStates([state('novsn', NodeStateType.Alive, 1, 2, [])]),
      /protocol version \(0\) is incompatible/,
    );
    assert.deepEqual(
      table.all().map((n) => n.name),
      ['me'],
    );
  });

  it('a merge delegate can veto a merge', () => {
    const { table } = makeTable({
      merge: {
        notifyMerge: (peers) => {
          if (peers.some((p) => p.name === 'other-cluster')) throw new Error('wrong cluster');
        },
      },
    });
    assert.throws(() => table.mergeRemoteStates([state('other-cluster', NodeStateType.Alive, 1, 2)]), /wrong cluster/);
    assert.equal(table.size, 1);
  });
});

describe('state table: probe order and reaping', () => {
  it('probes every live node once per round, never itself, the dead or the left', () => {
    const { table } = makeTable();
    for (let i = 2; i <= 7; i++) table.aliveNode(alive(`n${i}`, 1, i), false);
    table.deadNode({ node: 'n6', incarnation: 1, from: 'me' });
    table.deadNode({ node: 'n7', incarnation: 1, from: 'n7' });
    const round = Array.from({ length: 4 }, () => table.nextProbeTarget()!.name).sort();
    assert.deepEqual(round, ['n2', 'n3', 'n4', 'n5']);
  });

  it('forgets the dead after GossipToTheDeadTime at the end of a round, but keeps the left', async () => {
    const { table } = makeTable({ gossipToTheDeadTimeMs: 20 });
    for (let i = 2; i <= 4; i++) table.aliveNode(alive(`n${i}`, 1, i), false);
    table.deadNode({ node: 'n3', incarnation: 1, from: 'me' });
    table.deadNode({ node: 'n4', incarnation: 1, from: 'n4' });
    await new Promise((resolve) => setTimeout(resolve, 40));
    for (let i = 0; i < 3; i++) table.nextProbeTarget();
    assert.deepEqual(
      table
        .all()
        .map((n) => n.name)
        .sort(),
      ['me', 'n2', 'n4'],
    );
    assert.equal(table.get('n3'), undefined);
  });

  it('with nobody else alive there is nothing to probe', () => {
    const { table } = makeTable();
    assert.equal(table.nextProbeTarget(), undefined);
  });
});
