import { createPublicKey } from 'node:crypto';
import { CertificateAuthority, Role, TrustAnchor, generateKeyPair, privateKeyToPem } from '../../common/pki';

export const YEAR_MS = 365 * 24 * 3600_000;
// A credential this close to expiry is issued again at start.
const RENEW_WITHIN_MS = 30 * 24 * 3600_000;

// Valid from a minute ago: a client whose clock lags, or that connects within the second of issue,
// must not see a certificate that is not valid yet.
export const backdated = () => new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000);

export interface Credential {
  certPem: string;
  keyPem: string;
}

// A new key and a certificate for it from the cluster CA, valid for a year.
export async function issueCredential(
  ca: CertificateAuthority,
  subject: { role: Role; name: string; ips?: string[]; dnsNames?: string[] },
): Promise<Credential> {
  const key = generateKeyPair();
  const certPem = await ca.issue({
    ...subject,
    publicKey: createPublicKey(key),
    validForMs: YEAR_MS,
    notBefore: backdated(),
  });
  return { certPem, keyPem: privateKeyToPem(key) };
}

// Whether a certificate kept from an earlier start is still good for a while.
export function stillGood(ca: CertificateAuthority, certPem: string): boolean {
  return new TrustAnchor(ca.certPem).verify(certPem).notAfterMs - Date.now() > RENEW_WITHIN_MS;
}
