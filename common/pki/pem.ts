import { CertificateError } from './certificate-error';

// Our certificates and requests are well under 1 KiB; the bound keeps a peer from making us decode
// and parse megabytes.
export const MAX_ENCODED_BYTES = 16 * 1024;

// Every base64 block with this label; text around the blocks (a bundle's comments) is ignored.
export function pemBlocks(text: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1], 'base64'));
}

// The DER of the one certificate in PEM text or DER bytes. A Buffer read from a file may hold
// either; DER always starts with a SEQUENCE tag (0x30), PEM with '-----' or comment text.
export function certificateDer(cert: string | Buffer): Buffer {
  if (cert.length > MAX_ENCODED_BYTES) {
    throw new CertificateError('malformed', `certificate is ${cert.length} bytes, over the ${MAX_ENCODED_BYTES} limit`);
  }
  if (Buffer.isBuffer(cert) && cert[0] === 0x30) return cert;
  const blocks = pemBlocks(cert.toString(), 'CERTIFICATE');
  if (blocks.length !== 1) {
    throw new CertificateError(
      'malformed',
      `expected one PEM certificate (-----BEGIN CERTIFICATE-----), found ${blocks.length}`,
    );
  }
  return blocks[0];
}
