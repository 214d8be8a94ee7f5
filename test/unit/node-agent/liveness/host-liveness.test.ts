import { strict as assert } from 'node:assert';
import { HostLiveness, HostState } from '../../../../node-agent/liveness/host-liveness';
import { FakeReach } from '../../../helpers/fake-reach';
import { createLogger } from '../../../../common/log';

describe('host liveness: an agent is not its host', () => {
  const log = createLogger({ component: 'test', level: 'error' });
  const VTEP = '198.18.0.2';
  let reach: FakeReach;
  let liveness: HostLiveness;
  let changes: Array<[string, HostState]>;

  beforeEach(() => {
    reach = new FakeReach();
    liveness = new HostLiveness(reach, 60_000, log);
    changes = [];
    liveness.on('change', (name, state) => changes.push([name, state]));
    liveness.update('h2', 'alive', VTEP);
    assert.deepEqual(changes, [['h2', 'alive']], 'a new peer is a change');
    changes = [];
  });
  afterEach(() => liveness.close());

  it('costs no probe while gossip is content', () => {
    assert.equal(liveness.state('h2'), 'alive');
    assert.equal(reach.watched.size, 0);
  });

  it('keeps the entries of a host whose agent failed while its VTEP answers, and withdraws them when it stops', () => {
    liveness.update('h2', 'suspect', VTEP);
    assert.ok(reach.watched.has(VTEP), 'probed once gossip suspects it');
    assert.equal(liveness.state('h2'), 'suspect');
    liveness.update('h2', 'dead', VTEP);
    assert.equal(liveness.state('h2'), 'agent-down');
    assert.ok(liveness.forwards('h2'));
    reach.set(VTEP, 'silent');
    assert.equal(liveness.state('h2'), 'dead');
    assert.ok(!liveness.forwards('h2'));
    reach.set(VTEP, 'answering');
    assert.equal(liveness.state('h2'), 'agent-down', 'back as soon as it answers');
    liveness.update('h2', 'alive', VTEP);
    assert.equal(liveness.state('h2'), 'alive');
    assert.equal(reach.watched.size, 0, 'no probing once its agent is back');
    assert.deepEqual(changes, [
      ['h2', 'suspect'],
      ['h2', 'agent-down'],
      ['h2', 'dead'],
      ['h2', 'agent-down'],
      ['h2', 'alive'],
    ]);
  });

  it('withdraws a suspect host whose VTEP went silent without waiting for gossip to declare it dead', () => {
    liveness.update('h2', 'suspect', VTEP);
    reach.set(VTEP, 'silent');
    assert.equal(liveness.state('h2'), 'dead');
  });

  it('withdraws a host gossip has alive when the path from here is broken, and only while it is', () => {
    liveness.pathInDoubt('h2');
    assert.ok(reach.watched.has(VTEP), 'its VTEP is probed after our direct gossip probe failed');
    assert.equal(liveness.state('h2'), 'alive', 'nothing withdrawn before a whole window of silence');
    reach.set(VTEP, 'silent');
    assert.equal(liveness.state('h2'), 'dead');
    reach.set(VTEP, 'answering');
    assert.equal(liveness.state('h2'), 'alive');
    assert.equal(reach.watched.size, 0, 'gossip alone watches it once the path works');
  });

  it('stops probing a VTEP whose path was in doubt once it has answered for a while', async () => {
    const checked = new HostLiveness(reach, 60_000, log, { pathCheckMs: 30 });
    try {
      checked.update('h4', 'alive', '198.18.0.4');
      checked.pathInDoubt('h4');
      assert.ok(reach.watched.has('198.18.0.4'));
      await new Promise((r) => setTimeout(r, 80));
      assert.ok(!reach.watched.has('198.18.0.4'), 'an answering VTEP is not probed forever');
      assert.equal(checked.state('h4'), 'alive');
    } finally {
      checked.close();
    }
  });

  it('tells the other hosts only when its own probes of a doubted path stay unanswered', async () => {
    const sharing = new HostLiveness(reach, 60_000, log, { shareDoubtAfterMs: 20 });
    const told: string[] = [];
    sharing.on('doubt', (name) => told.push(name));
    try {
      for (const [name, vtep] of [
        ['h3', '198.18.0.3'],
        ['h4', '198.18.0.4'],
        ['h5', '198.18.0.5'],
      ])
        sharing.update(name, 'alive', vtep);
      reach.quiet.set('198.18.0.3', 25);
      reach.quiet.set('198.18.0.5', 25);
      sharing.pathInDoubt('h3');
      sharing.pathInDoubt('h4');
      sharing.pathInDoubt('h5', 'peer');
      assert.ok(reach.watched.has('198.18.0.5'), 'a doubt heard from a peer is probed here too');
      await new Promise((r) => setTimeout(r, 60));
      assert.deepEqual(told, ['h3'], "not a VTEP that answered, and a peer's doubt is not relayed");
      assert.equal(sharing.state('h3'), 'alive', 'told, not withdrawn: that takes a whole silent window');
      reach.set('198.18.0.4', 'silent');
      reach.set('198.18.0.5', 'silent');
      assert.deepEqual(told, ['h3', 'h4'], 'told once the VTEP that answered at first goes silent');
      reach.set('198.18.0.3', 'silent');
      assert.deepEqual(told, ['h3', 'h4'], 'once per doubt');
      // Gossip's own suspicion may come first (its indirect probes end before our moment of quiet).
      sharing.update('h6', 'alive', '198.18.0.6');
      reach.quiet.set('198.18.0.6', 25);
      sharing.pathInDoubt('h6');
      sharing.update('h6', 'suspect', '198.18.0.6');
      await new Promise((r) => setTimeout(r, 60));
      assert.deepEqual(told, ['h3', 'h4', 'h6'], 'a doubt is told also when gossip suspects the host');
    } finally {
      sharing.close();
    }
  });

  it('gives the sweep the peers it forwards to, with their VTEPs', () => {
    liveness.update('h3', 'dead', '198.18.0.3');
    liveness.update('h4', 'alive', undefined);
    liveness.update('h5', 'left', '198.18.0.5');
    reach.set('198.18.0.3', 'answering');
    assert.deepEqual(liveness.forwardingPeers(), [
      { name: 'h2', vtep: VTEP },
      { name: 'h3', vtep: '198.18.0.3' },
    ]);
    reach.set(VTEP, 'silent');
    liveness.update('h2', 'suspect', VTEP);
    assert.deepEqual(liveness.forwardingPeers(), [{ name: 'h3', vtep: '198.18.0.3' }], 'a silent VTEP is not swept');
  });

  it('withdraws a host that left at once, without probing it', () => {
    liveness.update('h2', 'left', VTEP);
    assert.equal(liveness.state('h2'), 'left');
    assert.ok(!liveness.forwards('h2'));
    assert.equal(reach.watched.size, 0);
  });

  it('keeps an agent-down host for the time it is given, then withdraws it and stops probing', async () => {
    const short = new HostLiveness(reach, 30, log);
    try {
      short.update('h3', 'alive', '198.18.0.3');
      short.update('h3', 'dead', '198.18.0.3');
      assert.equal(short.state('h3'), 'agent-down');
      await new Promise((r) => setTimeout(r, 80));
      assert.equal(short.state('h3'), 'dead');
      assert.ok(!reach.watched.has('198.18.0.3'));
    } finally {
      short.close();
    }
  });

  it('judges a host it never heard of as alive from its own report only', () => {
    assert.equal(liveness.state('h9'), undefined);
    assert.ok(!liveness.forwards('h9'));
  });
});
