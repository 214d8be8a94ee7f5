import { CertificateError, Identity, TrustAnchor } from '../../common/pki';
import { Revocations } from '../../common/trust/revocations';
import type { DropReason } from './drop-reasons';

// An owner renews before expiry, so at most a few of its certificates are current at once.
const CERTIFICATES_PER_OWNER = 4;
const MAX_CERTIFICATES = 50_000;

// The node certificates of our peers, verified against the cluster's CA and the revocations, by
// SHA-256 of their DER (what a signed batch names). Only what a CA certified for a node is kept,
// so whatever arrives, this holds at most a few entries per enrolled node.
export class PeerCertificates {
  private readonly byFingerprint = new Map<string, Identity>();
  private readonly byOwner = new Map<string, string[]>();
  private revocations = new Revocations();

  constructor(private readonly anchor: TrustAnchor) {}

  // Verifies and keeps a certificate; the reason it was refused otherwise.
  learn(der: Uint8Array, nowMs = Date.now()): Identity | DropReason {
    let identity: Identity;
    try {
      identity = this.anchor.verify(Buffer.from(der), nowMs);
    } catch (err) {
      return err instanceof CertificateError && err.problem === 'malformed' ? 'malformed' : 'untrusted-certificate';
    }
    if (identity.role !== 'node') return 'untrusted-certificate';
    if (this.revocations.revokes(identity)) return 'revoked';
    if (this.byFingerprint.has(identity.fingerprint)) return identity;
    if (this.byFingerprint.size >= MAX_CERTIFICATES) return 'untrusted-certificate';
    this.byFingerprint.set(identity.fingerprint, identity);
    const owned = this.byOwner.get(identity.name) ?? [];
    owned.push(identity.fingerprint);
    // Keep the latest-expiring ones: older certificates of a renewing node fall out first.
    owned.sort((a, b) => this.byFingerprint.get(b)!.notAfterMs - this.byFingerprint.get(a)!.notAfterMs);
    for (const dropped of owned.splice(CERTIFICATES_PER_OWNER)) this.byFingerprint.delete(dropped);
    this.byOwner.set(identity.name, owned);
    return identity;
  }

  // The certificate `owner` signed with, still valid now.
  lookup(owner: string, fingerprint: string, nowMs = Date.now()): Identity | DropReason {
    const identity = this.byFingerprint.get(fingerprint);
    if (!identity) return 'unknown-certificate';
    if (identity.name !== owner) return 'untrusted-certificate';
    if (nowMs > identity.notAfterMs) return 'untrusted-certificate';
    return identity;
  }

  der(fingerprint: string): Buffer | undefined {
    return this.byFingerprint.get(fingerprint)?.der;
  }

  // Certificates the new revocations refuse are forgotten; returns the nodes that lost one.
  setRevocations(revocations: Revocations): string[] {
    this.revocations = revocations;
    const affected = new Set<string>();
    for (const [fingerprint, identity] of this.byFingerprint) {
      if (!revocations.revokes(identity)) continue;
      this.byFingerprint.delete(fingerprint);
      const owned = this.byOwner.get(identity.name)?.filter((f) => f !== fingerprint) ?? [];
      if (owned.length > 0) this.byOwner.set(identity.name, owned);
      else this.byOwner.delete(identity.name);
      affected.add(identity.name);
    }
    return [...affected];
  }
}
