import { X509Certificate, createHash } from 'node:crypto';
import { CertificateError } from './certificate-error';
import { Identity, canonicalIp, parseSubjectName } from './identity';
import { certificateDer, pemBlocks } from './pem';

// Clocks of hosts in one cluster drift a little; a minute either way is not worth refusing a peer over.
const CLOCK_SKEW_MS = 60_000;
// Enough for every node and operator of a large cluster; a churn of fresh certificates only evicts.
const CACHE_LIMIT = 4096;

// Node prints subjectAltName as "DNS:a, IP Address:10.0.0.1"; our CA issues nothing else, and quoted
// values (names with ',' or '"') are not ours either.
function readAltNames(altNames: string | undefined): { ips: string[]; dnsNames: string[] } | undefined {
  const ips: string[] = [];
  const dnsNames: string[] = [];
  if (altNames === undefined) return { ips, dnsNames };
  if (altNames.includes('"')) return undefined;
  try {
    for (const entry of altNames.split(', ')) {
      if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4));
      else if (entry.startsWith('IP Address:')) ips.push(canonicalIp(entry.slice(11)));
      else return undefined;
    }
  } catch (_err) {
    return undefined; // an address of the wrong length, which Node prints as "<invalid>"
  }
  return { ips, dnsNames };
}

function parse(der: Buffer): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw new CertificateError('malformed', `not an X.509 certificate (${(err as Error).message})`);
  }
  // Trailing bytes would give one certificate many fingerprints.
  if (cert.raw.length !== der.length) throw new CertificateError('malformed', 'certificate has trailing bytes');
  return cert;
}

// On every call, cached or not: a signature stays valid, a validity window runs out.
function checkValidity(identity: Identity, nowMs: number): void {
  const who = `${identity.role}:${identity.name}`;
  if (nowMs < identity.notBeforeMs - CLOCK_SKEW_MS) {
    throw new CertificateError(
      'not-yet-valid',
      `certificate of ${who} is valid only from ${new Date(identity.notBeforeMs).toISOString()} (now ${new Date(nowMs).toISOString()}): check the clocks of both hosts`,
    );
  }
  if (nowMs > identity.notAfterMs + CLOCK_SKEW_MS) {
    throw new CertificateError(
      'expired',
      `certificate of ${who} expired at ${new Date(identity.notAfterMs).toISOString()}: renew it by enrolling again`,
    );
  }
}

// Verifies certificates issued by the cluster CA(s) and says whom they identify.
export class TrustAnchor {
  readonly fingerprints: string[];
  private readonly cas: X509Certificate[];
  // Identities already checked for issuer, signature and subject, by DER fingerprint; insertion
  // order makes the first key the oldest.
  private readonly verified = new Map<string, Identity>();

  // Each string may hold several PEM certificates (a CA bundle).
  constructor(caPems: string | string[]) {
    const ders = (Array.isArray(caPems) ? caPems : [caPems]).flatMap((pem) => pemBlocks(pem, 'CERTIFICATE'));
    if (ders.length === 0)
      throw new Error('no CA certificate given: expected PEM text with -----BEGIN CERTIFICATE-----');
    this.cas = ders.map((der, i) => {
      let ca: X509Certificate;
      try {
        ca = new X509Certificate(der);
      } catch (err) {
        throw new Error(`trusted CA certificate #${i + 1} cannot be parsed: ${(err as Error).message}`);
      }
      if (!ca.ca) throw new Error(`trusted certificate "${ca.subject}" is not a CA (basicConstraints CA:TRUE)`);
      return ca;
    });
    this.fingerprints = ders.map((der) => createHash('sha256').update(der).digest('hex'));
  }

  verify(cert: string | Buffer, nowMs = Date.now()): Identity {
    const der = certificateDer(cert);
    const fingerprint = createHash('sha256').update(der).digest('hex');
    const identity = this.verified.get(fingerprint) ?? this.remember(this.check(der, fingerprint));
    checkValidity(identity, nowMs);
    // A copy, so a caller editing it cannot change what the cache returns next time.
    return { ...identity, ips: [...identity.ips], dnsNames: [...identity.dnsNames], der: Buffer.from(identity.der) };
  }

  private check(der: Buffer, fingerprint: string): Identity {
    const cert = parse(der);
    if (!this.cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
      throw new CertificateError(
        'untrusted',
        `certificate "${cert.subject}" (issuer "${cert.issuer}") is not signed by a trusted CA: enrol with this cluster's CA`,
      );
    }
    const subject = parseSubjectName(cert.subject);
    const altNames = readAltNames(cert.subjectAltName);
    if (!subject || !altNames) {
      throw new CertificateError(
        'bad-subject',
        `certificate "${cert.subject}" does not name a node, operator or server as CN=<role>:<name> with IP/DNS alt names only: issue it with this cluster's CA tooling`,
      );
    }
    const notBeforeMs = Date.parse(cert.validFrom);
    const notAfterMs = Date.parse(cert.validTo);
    if (Number.isNaN(notBeforeMs) || Number.isNaN(notAfterMs)) {
      throw new CertificateError('malformed', `unreadable validity "${cert.validFrom}" - "${cert.validTo}"`);
    }
    return {
      ...subject,
      ...altNames,
      serial: cert.serialNumber.toLowerCase(),
      notBeforeMs,
      notAfterMs,
      fingerprint,
      publicKey: cert.publicKey,
      der: cert.raw,
    };
  }

  private remember(identity: Identity): Identity {
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(identity.fingerprint, identity);
    return identity;
  }
}
