// Why a gossip message (or part of it) was refused; each is counted separately, so an operator can
// tell a misconfigured host from an attack.
export const DROP_REASONS = [
  'malformed',
  // The owner is not in our gossip membership.
  'not-a-member',
  // Its certificate is not from the cluster's CA, expired, not a node's, or names another node.
  'untrusted-certificate',
  // Signed with a certificate we have not seen yet: we ask the owner for it.
  'unknown-certificate',
  'revoked',
  // A record names a VTEP its owner's certificate does not.
  'vtep-not-certified',
  'bad-signature',
  // A signed batch carries a record of another owner.
  'wrong-owner',
  // A configuration without a valid server signature.
  'unsigned-config',
  // A version of one of our own records at the very top of the version space: it cannot be refuted.
  'implausible-version',
  // A new record of an owner that holds as many as it may (--max-records-per-owner).
  'owner-limit',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export class DropCounter {
  private readonly counts = new Map<DropReason, number>(DROP_REASONS.map((r) => [r, 0]));

  // onCount feeds the metrics; it is told of every reason once at the start, so all show as 0.
  constructor(private readonly onCount: (reason: DropReason, n: number) => void = () => undefined) {
    for (const r of DROP_REASONS) onCount(r, 0);
  }

  count(reason: DropReason, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
    this.onCount(reason, n);
  }

  get(reason: DropReason): number {
    return this.counts.get(reason) ?? 0;
  }

  entries(): Array<[DropReason, number]> {
    return [...this.counts];
  }
}
