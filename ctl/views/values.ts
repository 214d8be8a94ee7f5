// The value conventions of everything ctl prints (tables, -o json, -o yaml): numbers are numbers,
// times are RFC 3339 (UTC), and what is unset is null, never protobuf's empty default.

// proto-loader hands 64-bit integers over as decimal strings. Every one ctl prints counts events
// (revisions, mobility sequences, incarnations, version counters) or is a time in milliseconds:
// all far below 2^53, where a JSON number is exact. One beyond it would print rounded, so ctl
// refuses it instead of printing a wrong number.
export function int64(field: string, value: string | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new Error(`the server sent ${field} ${String(value)}, beyond what ctl prints exactly (2^53)`);
  return n;
}

// A time in milliseconds since the epoch; 0 is protobuf's default: never set.
export function time(field: string, ms: string | number): string | null {
  const n = int64(field, ms);
  return n === 0 ? null : new Date(n).toISOString();
}

// protobuf's empty string: unset.
export const orNull = (s: string): string | null => (s === '' ? null : s);

// A table cell for a value that may be unset.
export const cell = (v: string | number | null): string | number => v ?? '-';

export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

// A record's version as its owner issued it.
export interface VersionView {
  incarnation: number;
  counter: number;
}

export function versionView(v: { incarnation: string; counter: string } | null): VersionView | null {
  return (
    v && { incarnation: int64('version.incarnation', v.incarnation), counter: int64('version.counter', v.counter) }
  );
}

export const versionCell = (v: VersionView | null): string => (v ? `${v.incarnation}.${v.counter}` : '-');
