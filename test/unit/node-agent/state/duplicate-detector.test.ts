import { strict as assert } from 'node:assert';
import { DuplicateDetector } from '../../../../node-agent/state/duplicate-detector';

const MAC = '02:00:00:00:00:aa';

describe('duplicate detector', () => {
  let now = 0;
  const detector = (freezeMs: number | 'permanent' = 180_000) =>
    new DuplicateDetector({ maxMoves: 5, windowMs: 180_000, freezeMs, now: () => now });
  beforeEach(() => {
    now = 0;
  });

  it('freezes on the 5th move within 180 s instead of making it, and says so once', () => {
    const d = detector();
    for (let i = 0; i < 4; i++) assert.equal(d.move(42, MAC), 'moved');
    assert.equal(d.move(42, MAC), 'froze');
    assert.equal(d.move(42, MAC), 'frozen');
    assert.ok(d.isFrozen(42, MAC));
    assert.ok(!d.isFrozen(43, MAC), 'per VNI');
    assert.deepEqual(d.frozen(), [{ vni: 42, mac: MAC, sinceMs: 0 }]);
  });

  it('does not freeze moves spread wider than the window', () => {
    const d = detector();
    for (let i = 0; i < 20; i++) {
      now += 60_000;
      assert.equal(d.move(42, MAC), 'moved');
      d.expire();
    }
  });

  it('thaws after the freeze time, with a fresh move count', () => {
    const d = detector(10_000);
    for (let i = 0; i < 5; i++) d.move(42, MAC);
    now = 4_000;
    assert.equal(d.msUntilNextThaw(), 6_000);
    assert.deepEqual(d.expire(), []);
    now = 10_000;
    assert.deepEqual(
      d.expire().map((f) => f.mac),
      [MAC],
    );
    assert.ok(!d.isFrozen(42, MAC));
    assert.equal(d.msUntilNextThaw(), undefined);
    assert.equal(d.move(42, MAC), 'moved');
  });

  it('keeps a permanent freeze until an operator clears it', () => {
    const d = detector('permanent');
    for (let i = 0; i < 5; i++) d.move(42, MAC);
    now = 10 * 86_400_000;
    assert.deepEqual(d.expire(), []);
    assert.equal(d.msUntilNextThaw(), undefined);
    assert.ok(d.clear(42, MAC));
    assert.ok(!d.isFrozen(42, MAC));
    assert.ok(!d.clear(42, MAC), 'nothing left to clear');
    for (let i = 0; i < 4; i++) assert.equal(d.move(42, MAC), 'moved', 'the count starts again');
  });

  it('takes new bounds in place (SIGHUP), keeping what it counted and froze', () => {
    const d = detector(10_000);
    for (let i = 0; i < 3; i++) assert.equal(d.move(42, MAC), 'moved');
    d.reconfigure({ maxMoves: 4, windowMs: 180_000, freezeMs: 60_000 });
    assert.equal(d.move(42, MAC), 'froze', 'the 4th move freezes under the new bound');
    now = 10_000;
    assert.deepEqual(d.expire(), [], 'the new freeze time holds it');
    assert.equal(d.msUntilNextThaw(), 50_000);
  });
});
