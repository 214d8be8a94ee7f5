import { KeyObject, createPublicKey } from 'node:crypto';
import { CertificateError } from './certificate-error';
import { Role, subjectName } from './identity';
import { isP256Key } from './key-pair';
import { MAX_ENCODED_BYTES, pemBlocks } from './pem';
import type * as X509 from '@peculiar/x509';
import { ECDSA_SHA256, toCryptoKeyPair, x509 } from './x509-provider';

// PKCS#10 requests: an enrolling host sends one, signed by its fresh key, and never its private key.

export async function createCertificateRequest(key: KeyObject, role: Role, name: string): Promise<string> {
  const request = await x509().Pkcs10CertificateRequestGenerator.create({
    name: subjectName(role, name),
    keys: await toCryptoKeyPair(key),
    signingAlgorithm: ECDSA_SHA256,
  });
  return request.toString('pem');
}

function malformed(what: string): CertificateError {
  return new CertificateError('malformed', `certificate request ${what}; create a new one with this host's key`);
}

// The requester's public key and subject, once its self-signature shows it holds the private key.
// The subject is the requester's claim only: the caller decides which identity to issue.
export async function readCertificateRequest(pem: string): Promise<{ publicKey: KeyObject; subject: string }> {
  if (pem.length > MAX_ENCODED_BYTES) throw malformed(`is ${pem.length} bytes, over the ${MAX_ENCODED_BYTES} limit`);
  const blocks = pemBlocks(pem, 'CERTIFICATE REQUEST');
  if (blocks.length !== 1) throw malformed(`must be one PEM block, found ${blocks.length}`);
  let request: X509.Pkcs10CertificateRequest;
  let publicKey: KeyObject;
  try {
    request = new (x509().Pkcs10CertificateRequest)(blocks[0]);
    publicKey = createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    throw malformed(`cannot be parsed (${(err as Error).message})`);
  }
  if (!isP256Key(publicKey)) throw malformed(`has a ${publicKey.asymmetricKeyType} key, not EC P-256`);
  const signed = await request.verify().catch(() => false);
  if (!signed) throw malformed('is not signed by the key it carries');
  return { publicKey, subject: request.subject };
}
