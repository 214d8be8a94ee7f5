import type { Identity } from '../pki';

export interface Revocation {
  node: string;
  revokedAtMs: number;
}

// The nodes an operator revoked, as the signed configuration lists them. A certificate is revoked
// if it names a revoked node and was issued at or before the revocation; a host re-enrolled later
// gets a certificate issued after it and is trusted again.
export class Revocations {
  private readonly byNode: Map<string, number>;

  constructor(list: readonly Revocation[] = []) {
    this.byNode = new Map(list.map((r) => [r.node, r.revokedAtMs]));
  }

  revokes(identity: Pick<Identity, 'role' | 'name' | 'notBeforeMs'>): boolean {
    if (identity.role !== 'node') return false;
    const at = this.byNode.get(identity.name);
    return at !== undefined && identity.notBeforeMs <= at;
  }

  list(): Revocation[] {
    return [...this.byNode].map(([node, revokedAtMs]) => ({ node, revokedAtMs }));
  }
}
