import { ValidationError } from '../common/validation';

export const MAX_PAGE_SIZE = 1000;

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

// One page of items sorted by key, starting after the token's key.
export function paginate<T>(items: T[], keyOf: (item: T) => string, pageSize: number, pageToken: string) {
  const size = pageSize === 0 || pageSize > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : pageSize;
  const after = decodePageToken(pageToken);
  const start = after === undefined ? 0 : items.findIndex((item) => keyOf(item) > after);
  const page = start < 0 ? [] : items.slice(start, start + size);
  const more = start >= 0 && start + size < items.length;
  return { page, nextPageToken: more ? encodePageToken(keyOf(page[page.length - 1])) : '' };
}
