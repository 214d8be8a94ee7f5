import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import { SweepPeer, SweepReach, VtepSweep, sweepPhase, sweepTarget } from '../../../../node-agent/liveness/vtep-sweep';
import { FakeClock } from '../../../helpers/fake-clock';

const log = createLogger({ component: 'test', level: 'error', write: () => undefined });

// Pings answered at once, except by the VTEPs in `silent`; watched VTEPs are not pinged.
class Reach implements SweepReach {
  readonly pinged: string[] = [];
  readonly silent = new Set<string>();
  readonly watched = new Set<string>();

  ping(vtep: string, _timeoutMs: number, answered: (yes: boolean) => void): void {
    this.pinged.push(vtep);
    answered(!this.silent.has(vtep));
  }

  answer(vtep: string): 'answering' | undefined {
    return this.watched.has(vtep) ? 'answering' : undefined;
  }
}

function peers(...names: string[]): SweepPeer[] {
  return names.map((name, i) => ({ name, vtep: `198.18.0.${i + 10}` }));
}

describe('VTEP sweep', () => {
  it('pings every member exactly once per tick, by a different host each tick, never itself', () => {
    const members = ['h3', 'h1', 'h5', 'h2', 'h4'];
    for (let tick = 0; tick < 12; tick++) {
      const targets = members.map((self) => sweepTarget(members, self, tick));
      assert.ok(!targets.some((t, i) => t === members[i]), `tick ${tick}: no host pings itself`);
      assert.deepEqual([...targets].sort(), [...members].sort(), `tick ${tick}: each member pinged once`);
    }
    for (const self of members) {
      const seen = new Set([0, 1, 2, 3].map((tick) => sweepTarget(members, self, tick)));
      assert.equal(seen.size, 4, `${self} pings each of the others within n-1 ticks`);
    }
  });

  it('spreads the hosts evenly over the interval, so that they do not all wake at once', () => {
    const members = ['h3', 'h1', 'h2', 'h4'];
    assert.deepEqual(
      members.map((self) => sweepPhase(members, self, 500)),
      [250, 0, 125, 375],
    );
  });

  it('has nobody to ping alone, and counts itself in whether or not the list names it', () => {
    assert.equal(sweepTarget([], 'h1', 7), undefined);
    assert.equal(sweepTarget(['h1'], 'h1', 7), undefined);
    assert.equal(sweepTarget(['h2'], 'h1', 7), 'h2');
    assert.equal(sweepTarget(['h1', 'h2'], 'h1', 7), 'h2');
  });

  it('pings one peer per interval on wall-clock multiples, and reports one that does not answer', () => {
    const clock = new FakeClock();
    const reach = new Reach();
    const unanswered: string[] = [];
    const list = peers('h2', 'h3');
    const hooks = { peers: () => list, unanswered: (name: string) => unanswered.push(name) };
    const sweep = new VtepSweep('h1', reach, hooks, { intervalMs: 500, timeoutMs: 200 }, log, clock);
    reach.silent.add(list[1].vtep);
    sweep.start();
    sweep.start();
    clock.advance(400);
    assert.deepEqual(
      reach.pinged,
      [],
      "the first tick is at the next multiple of the interval (1500): h1's phase is 0",
    );
    clock.advance(2_000);
    assert.equal(reach.pinged.length, 4, 'one ping per interval, however often start was called');
    assert.deepEqual(new Set(reach.pinged), new Set(list.map((p) => p.vtep)), 'the peers in turn');
    assert.deepEqual(unanswered, ['h3', 'h3']);
    assert.deepEqual(sweep.stats(), { pinged: 4, unanswered: 2 });
    sweep.stop();
    assert.equal(clock.pending(), 0, 'stopped: no timer');
  });

  it('pings once per tick also when its timer fires a little early', () => {
    const clock = new FakeClock();
    clock.lateMs = -1;
    const reach = new Reach();
    const list = peers('h2', 'h3');
    const sweep = new VtepSweep(
      'h1',
      reach,
      { peers: () => list, unanswered: assert.fail },
      { intervalMs: 500, timeoutMs: 200 },
      log,
      clock,
    );
    sweep.start();
    clock.advance(2_400);
    sweep.stop();
    assert.equal(reach.pinged.length, 4);
  });

  it('leaves a watched VTEP to the fast probes', () => {
    const clock = new FakeClock();
    const reach = new Reach();
    const list = peers('h2');
    reach.watched.add(list[0].vtep);
    const sweep = new VtepSweep(
      'h1',
      reach,
      { peers: () => list, unanswered: assert.fail },
      { intervalMs: 100, timeoutMs: 50 },
      log,
      clock,
    );
    sweep.start();
    clock.advance(1_000);
    sweep.stop();
    assert.deepEqual(reach.pinged, []);
  });

  it('refuses a timeout that does not end before the next ping', () => {
    const make = (timeoutMs: number) =>
      new VtepSweep(
        'h1',
        new Reach(),
        { peers: () => [], unanswered: assert.fail },
        { intervalMs: 500, timeoutMs },
        log,
      );
    assert.throws(() => make(500), /timeout \(500 ms\) must be positive and shorter than the interval \(500 ms\)/);
    assert.throws(() => make(0), /must be positive/);
  });
});
