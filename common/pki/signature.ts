import { KeyObject, sign, verify } from 'node:crypto';
import { isP256Key } from './key-pair';

// Domain-separated signatures: the signed bytes are domain + NUL + payload, so a signature made for
// one purpose (say 'vxgossip/records/v1') never verifies for another ('vxgossip/config/v1').

// ECDSA P-256 in IEEE P1363 form: r || s, 32 bytes each.
const SIGNATURE_BYTES = 64;

function signedBytes(domain: string, payload: Uint8Array): Buffer {
  // A NUL inside the domain would let 'a' + payload '\0b...' collide with domain 'a\0b'.
  if (domain.length === 0 || domain.includes('\0')) {
    throw new Error(`signature domain ${JSON.stringify(domain)} must be non-empty and contain no NUL`);
  }
  return Buffer.concat([Buffer.from(`${domain}\0`), payload]);
}

export function signPayload(key: KeyObject, domain: string, payload: Uint8Array): Buffer {
  // Another curve would make signatures of another length, which every verifier refuses.
  if (!isP256Key(key)) throw new Error(`signing key is ${key.asymmetricKeyType}, expected an EC P-256 key`);
  return sign('sha256', signedBytes(domain, payload), { key, dsaEncoding: 'ieee-p1363' });
}

export function verifyPayload(
  publicKey: KeyObject,
  domain: string,
  payload: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  return verify('sha256', signedBytes(domain, payload), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
}
