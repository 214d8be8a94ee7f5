import { strict as assert } from 'node:assert';
import { Backoff } from '../../../node-agent/backoff';

describe('backoff', () => {
  it('doubles up to the ceiling, with jitter of ±20 %, and resets', () => {
    const b = new Backoff(100, 1000, () => 0.5);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
    b.reset();
    assert.equal(b.next(), 100);
    assert.equal(new Backoff(100, 1000, () => 0).next(), 80);
    assert.equal(new Backoff(100, 1000, () => 1).next(), 120);
  });
});
