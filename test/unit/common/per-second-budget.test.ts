import { strict as assert } from 'node:assert';
import { PerSecondBudget } from '../../../common/per-second-budget';

describe('per-second budget', () => {
  it('allows up to its limit in each clock second, and again in the next', () => {
    let now = 5_000;
    const budget = new PerSecondBudget(3, () => now);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => budget.take()),
      [true, true, true, false],
    );
    now = 5_999;
    assert.equal(budget.take(), false, 'still the same second');
    now = 6_000;
    assert.equal(budget.take(), true, 'a new second');
  });
});
