import { strict as assert } from 'node:assert';
import { paginate } from '../../../server/pagination';
import { ValidationError } from '../../../common/validation';

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
