import { strict as assert } from 'node:assert';
import BTree from 'sorted-btree';
import { EVERY_KEY, MAX_SCANNED_PER_PAGE, pageOfIndex, paginate, sortKey } from '../../../server/pagination';
import { keyRangeOf } from '../../../server/endpoint-filter';
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

  describe('pages from a sorted index', () => {
    const index = new BTree<string, number>();
    for (let i = 0; i < 3 * MAX_SCANNED_PER_PAGE; i++)
      index.set(sortKey(1 + (i % 3), `m${String(i).padStart(6, '0')}`, ''), i);
    const walkAll = (select: (n: number) => number | undefined, range = EVERY_KEY, size = 0) => {
      const pages: number[][] = [];
      let token = '';
      do {
        const { page, nextPageToken } = pageOfIndex(index, range, select, size, token);
        pages.push(page);
        token = nextPageToken;
      } while (token);
      return pages;
    };

    it('walks every entry once, in key order, a page at a time', () => {
      const pages = walkAll((n) => n, EVERY_KEY, 700);
      assert.equal(pages.flat().length, index.size);
      assert.deepEqual(pages.flat(), index.valuesArray());
      assert.ok(pages.slice(0, -1).every((p) => p.length === 700));
    });

    it('walks only the keys of a filter (one VNI) without touching the others', () => {
      const inVni2 = walkAll((n) => n, keyRangeOf({ vni: 2, node: '', mac: '' })).flat();
      assert.equal(inVni2.length, MAX_SCANNED_PER_PAGE);
      assert.ok(inVni2.every((n) => n % 3 === 1));
    });

    it('examines a bounded number of entries per page: a sparse filter gets short pages and goes on', () => {
      const pages = walkAll((n) => (n % 1000 === 0 ? n : undefined));
      assert.deepEqual(
        pages.flat().sort((a, b) => a - b),
        Array.from({ length: 30 }, (_, i) => i * 1000),
      );
      assert.equal(pages.length, 3, 'one page per MAX_SCANNED_PER_PAGE entries examined');
    });
  });
});
