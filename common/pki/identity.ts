import { KeyObject, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { ValidationError, checkNodeName } from '../validation';
import { certificateDer } from './pem';

// Who a certificate speaks for: its subject is exactly CN=<role>:<name>, so one CA can sign nodes,
// operators and servers without one passing for another.
export type Role = 'node' | 'operator' | 'server';
const ROLES: readonly string[] = ['node', 'operator', 'server'] satisfies Role[];

export interface Identity {
  role: Role;
  name: string;
  // Canonical spelling (see canonicalIp), so they compare equal to VTEP addresses as strings.
  ips: string[];
  dnsNames: string[];
  // Lowercase hex, as in the certificate.
  serial: string;
  notBeforeMs: number;
  notAfterMs: number;
  // SHA-256 of the DER, lowercase hex.
  fingerprint: string;
  publicKey: KeyObject;
  der: Buffer;
}

export function subjectName(role: Role, name: string): string {
  if (!ROLES.includes(role)) throw new ValidationError('role', `"${role}" must be one of ${ROLES.join(', ')}`);
  checkNodeName('name', name);
  return `CN=${role}:${name}`;
}

// The inverse of subjectName; undefined for any other subject (extra attributes, unknown role, bad name).
export function parseSubjectName(subject: string): { role: Role; name: string } | undefined {
  const m = /^CN=([a-z]+):(.*)$/.exec(subject);
  if (!m) return undefined;
  try {
    subjectName(m[1] as Role, m[2]);
  } catch (_err) {
    return undefined;
  }
  return { role: m[1] as Role, name: m[2] };
}

export function certificateFingerprint(cert: string | Buffer): string {
  return createHash('sha256').update(certificateDer(cert)).digest('hex');
}

// One spelling per address: IPv4 dotted-decimal, IPv6 lowercase and compressed with hex groups only
// (the URL standard's form). Zone indexes are refused: a certificate cannot carry one.
export function canonicalIp(ip: string): string {
  switch (isIP(ip)) {
    case 4:
      return ip;
    case 6:
      if (!ip.includes('%')) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
      break;
  }
  throw new ValidationError('ips', `"${ip}" is not an IPv4 or IPv6 address (without a zone index)`);
}
