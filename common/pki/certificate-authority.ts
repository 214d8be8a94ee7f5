import { KeyObject, X509Certificate, createHash, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { Role, canonicalIp, certificateFingerprint, subjectName } from './identity';
import { generateKeyPair, isP256Key, loadPrivateKey, privateKeyToPem } from './key-pair';
import type * as X509 from '@peculiar/x509';
import { ECDSA_SHA256, toCryptoKeyPair, x509 } from './x509-provider';

const TEN_YEARS_MS = 10 * 365 * 24 * 3600_000;
// Hosts whose clocks lag the CA's must still accept a CA created a moment ago.
const CA_BACKDATE_MS = 3600_000;
const DNS_NAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface IssueSpec {
  role: Role;
  name: string;
  publicKey: KeyObject;
  ips?: string[];
  dnsNames?: string[];
  validForMs: number;
  notBefore?: Date;
}

// 16 random bytes, high bit clear so the DER integer stays positive in 16 octets, next bit set so
// it is never shorter.
function randomSerial(): string {
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  return serial.toString('hex');
}

// RFC 5280 key identifier (method 1): SHA-1 of the public key's bit string, for EC the uncompressed point.
function keyIdentifier(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return createHash('sha1').update(point).digest('hex');
}

function checkDnsName(value: string): string {
  if (!DNS_NAME_RE.test(value) || isIP(value) !== 0) {
    throw new Error(`dnsNames: "${value}" is not a host name (letters, digits, '-' in dot-separated labels)`);
  }
  return value;
}

function checkSubjectKey(key: KeyObject): void {
  if (key.type !== 'public' || !isP256Key(key)) {
    throw new Error(`publicKey: expected an EC P-256 public key, got a ${key.type} ${key.asymmetricKeyType} key`);
  }
}

function extendedKeyUsages(role: Role): string[] {
  const lib = x509();
  // Servers also dial their peers; nodes and operators only ever connect as clients.
  return role === 'server'
    ? [lib.ExtendedKeyUsage.serverAuth, lib.ExtendedKeyUsage.clientAuth]
    : [lib.ExtendedKeyUsage.clientAuth];
}

// The cluster CA: signs node, operator and server certificates with its P-256 key.
export class CertificateAuthority {
  readonly fingerprint: string;
  private readonly key: KeyObject;
  private readonly issuer: X509.Name;
  private readonly authorityKeyId: string;
  private signingKey?: Promise<webcrypto.CryptoKey>;

  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
  ) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certPem);
    } catch (err) {
      throw new Error(`CA certificate is not a PEM certificate: ${(err as Error).message}`);
    }
    if (!cert.ca) throw new Error(`CA certificate "${cert.subject}" is not a CA (basicConstraints CA:TRUE is missing)`);
    this.key = loadPrivateKey(keyPem);
    if (!cert.checkPrivateKey(this.key)) {
      throw new Error(`CA key does not match the CA certificate "${cert.subject}": pass the key it was created with`);
    }
    this.fingerprint = certificateFingerprint(cert.raw);
    // Issued certificates must name the CA exactly as it names itself, and point at its key
    // identifier when it has one (OpenSSL matches them when it looks for the issuer).
    const lib = x509();
    const parsed = new lib.X509Certificate(cert.raw);
    this.issuer = parsed.subjectName;
    this.authorityKeyId =
      parsed.getExtension(lib.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(createPublicKey(this.key));
  }

  static async create(commonName = 'vxgossip cluster CA', validForMs = TEN_YEARS_MS): Promise<CertificateAuthority> {
    const key = generateKeyPair();
    const now = Math.floor(Date.now() / 1000) * 1000;
    const lib = x509();
    const cert = await lib.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: [{ CN: [commonName] }],
      notBefore: new Date(now - CA_BACKDATE_MS),
      notAfter: new Date(now + validForMs),
      keys: await toCryptoKeyPair(key),
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new lib.BasicConstraintsExtension(true, undefined, true),
        new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
        new lib.SubjectKeyIdentifierExtension(keyIdentifier(createPublicKey(key))),
      ],
    });
    return new CertificateAuthority(cert.toString('pem'), privateKeyToPem(key));
  }

  static fromPem(certPem: string, keyPem: string): CertificateAuthority {
    return new CertificateAuthority(certPem, keyPem);
  }

  // Returns the certificate as PEM. notBefore is the given time (or now) rounded up to a whole
  // second, never earlier: a cert issued after a cut-off time must not look older than it.
  async issue(spec: IssueSpec): Promise<string> {
    const subject = subjectName(spec.role, spec.name);
    checkSubjectKey(spec.publicKey);
    // The library mis-encodes dotted IPv4 inside IPv6 (::ffff:1.2.3.4); the canonical form has none.
    const ips = (spec.ips ?? []).map(canonicalIp);
    const dnsNames = (spec.dnsNames ?? []).map(checkDnsName);
    if (!Number.isFinite(spec.validForMs) || spec.validForMs < 1000) {
      throw new Error(`validForMs: must be at least 1000 ms, got ${spec.validForMs}`);
    }
    const notBeforeMs = Math.ceil((spec.notBefore ?? new Date()).getTime() / 1000) * 1000;
    const notAfterMs = Math.floor((notBeforeMs + spec.validForMs) / 1000) * 1000;
    const lib = x509();
    const extensions: X509.Extension[] = [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
      new lib.ExtendedKeyUsageExtension(extendedKeyUsages(spec.role)),
      new lib.SubjectKeyIdentifierExtension(keyIdentifier(spec.publicKey)),
      new lib.AuthorityKeyIdentifierExtension(this.authorityKeyId),
    ];
    if (ips.length + dnsNames.length > 0) {
      extensions.push(
        new lib.SubjectAlternativeNameExtension([
          ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...ips.map((value) => ({ type: 'ip' as const, value })),
        ]),
      );
    }
    this.signingKey ??= toCryptoKeyPair(this.key).then((pair) => pair.privateKey);
    const cert = await lib.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: this.issuer,
      notBefore: new Date(notBeforeMs),
      notAfter: new Date(notAfterMs),
      publicKey: spec.publicKey.export({ type: 'spki', format: 'der' }),
      signingKey: await this.signingKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions,
    });
    return cert.toString('pem');
  }
}
