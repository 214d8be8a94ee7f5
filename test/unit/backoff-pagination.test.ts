import { strict as assert } from 'node:assert';
import { Backoff } from '../../common/backoff';
import { paginate } from '../../server/pagination';
import { ValidationError } from '../../common/validation';

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

describe('pagination', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  it('walks every item exactly once', () => {
    const seen: string[] = [];
    let token = '';
    do {
      const { page, nextPageToken } = paginate(items, (x) => x, 2, token);
      seen.push(...page);
      token = nextPageToken;
    } while (token);
    assert.deepEqual(seen, items);
  });
  it('returns everything when the page size is 0 and rejects foreign tokens', () => {
    assert.deepEqual(paginate(items, (x) => x, 0, '').page, items);
    assert.throws(() => paginate(items, (x) => x, 2, 'bm9wZQ'), ValidationError);
  });
});
