import type BTree from 'sorted-btree';
import { ValidationError } from '../common/validation';

export const MAX_PAGE_SIZE = 1000;
// Index entries one page may examine: a filter that matches little must not make a single call walk a
// large index. Such a page comes back short (even empty) with a token to go on from.
export const MAX_SCANNED_PER_PAGE = 10 * MAX_PAGE_SIZE;

// Keys from `from` (inclusive) to `to` (exclusive).
export interface KeyRange {
  from: string;
  to: string;
}

export const EVERY_KEY: KeyRange = { from: '', to: '\uffff' };

// A key that sorts as its parts do: numbers (VNIs, at most 8 digits) are zero-padded, so listings
// page in numeric order.
export function sortKey(...parts: Array<string | number>): string {
  return parts.map((p) => (typeof p === 'number' ? String(p).padStart(8, '0') : p)).join('/');
}

// Page tokens are opaque to clients: the base64 of the last key served.
export function encodePageToken(lastKey: string): string {
  return Buffer.from(`after:${lastKey}`).toString('base64url');
}

export function decodePageToken(token: string): string | undefined {
  if (token === '') return undefined;
  const text = Buffer.from(token, 'base64url').toString();
  if (!text.startsWith('after:')) throw new ValidationError('page_token', 'is not a token this server issued');
  return text.slice('after:'.length);
}

const pageSizeOf = (pageSize: number) => (pageSize === 0 || pageSize > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : pageSize);

// The entries of a sorted index within `range`, in key order, lazily: from `after` (exclusive) when
// given, so a page or a snapshot starts where the previous one stopped without a scan from the top.
export function* walk<V>(index: BTree<string, V>, range: KeyRange, after?: string): Generator<[string, V]> {
  const start = after !== undefined && after >= range.from ? after : range.from;
  for (const [key, value] of index.entries(start)) {
    if (key >= range.to) return;
    if (key !== after) yield [key, value];
  }
}

// One page from a sorted index: what `select` makes of the entries after the token's key.
export function pageOfIndex<V, T>(
  index: BTree<string, V>,
  range: KeyRange,
  select: (value: V) => T | undefined,
  pageSize: number,
  pageToken: string,
): { page: T[]; nextPageToken: string } {
  const size = pageSizeOf(pageSize);
  const page: T[] = [];
  let scanned = 0;
  let last = '';
  for (const [key, value] of walk(index, range, decodePageToken(pageToken))) {
    if (page.length === size || scanned === MAX_SCANNED_PER_PAGE) return { page, nextPageToken: encodePageToken(last) };
    scanned++;
    last = key;
    const item = select(value);
    if (item !== undefined) page.push(item);
  }
  return { page, nextPageToken: '' };
}

// One page of items sorted by key, starting after the token's key.
export function paginate<T>(items: T[], keyOf: (item: T) => string, pageSize: number, pageToken: string) {
  const size = pageSizeOf(pageSize);
  const after = decodePageToken(pageToken);
  const start = after === undefined ? 0 : items.findIndex((item) => keyOf(item) > after);
  const page = start < 0 ? [] : items.slice(start, start + size);
  const more = start >= 0 && start + size < items.length;
  return { page, nextPageToken: more ? encodePageToken(keyOf(page[page.length - 1])) : '' };
}
