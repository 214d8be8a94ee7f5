import { hash } from 'node:crypto';
import type { StateRecord } from '../../common/fdb-state/record';
import { recordKey } from '../../common/fdb-state/record';
import { Version, ZERO_VERSION, newer } from '../../common/fdb-state/version';

// What one owner's records look like from here, in a few bytes: two nodes whose summaries of an
// owner agree hold the same records of it, so anti-entropy sends only the owners that differ.
export interface OwnerSummary {
  owner: string;
  count: number;
  maxVersion: Version;
  // Sum of a 48-bit hash of every (key, version, tombstone) modulo 2^48: order-independent and
  // updatable in place as records change.
  checksum: number;
}

const MOD = 2 ** 48;

export function recordHash(record: StateRecord): number {
  const text = `${recordKey(record.body)}@${record.version.incarnation}.${record.version.counter}${record.tombstone ? 'x' : ''}`;
  return hash('sha1', text, 'buffer').readUIntBE(0, 6);
}

export function emptySummary(owner: string): OwnerSummary {
  return { owner, count: 0, maxVersion: ZERO_VERSION, checksum: 0 };
}

export function addToSummary(summary: OwnerSummary, record: StateRecord, sign: 1 | -1): void {
  summary.count += sign;
  summary.checksum = (((summary.checksum + sign * recordHash(record)) % MOD) + MOD) % MOD;
  if (sign === 1 && newer(record.version, summary.maxVersion)) summary.maxVersion = record.version;
}

export function sameSummary(a: OwnerSummary | undefined, b: OwnerSummary | undefined): boolean {
  if (!a || !b) return (a?.count ?? 0) === 0 && (b?.count ?? 0) === 0;
  return a.count === b.count && a.checksum === b.checksum;
}
