import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring';

// AES-GCM as memberlist frames it: [version][nonce 12][ciphertext][tag 16]. Version 0 pads the
// plaintext PKCS#7-style to 16 bytes (for protocol version 1 peers), version 1 does not.
const NONCE = 12;
const TAG = 16;
const BLOCK = 16;

export class DecryptError extends Error {
  override readonly name = 'DecryptError';
}

const cipherName = (key: Buffer) => `aes-${key.length * 8}-gcm` as 'aes-128-gcm';

export function encryptedLength(version: 0 | 1, plaintext: number): number {
  return 1 + NONCE + TAG + (version === 0 ? plaintext + (BLOCK - (plaintext % BLOCK)) : plaintext);
}

export function encrypt(version: 0 | 1, key: Buffer, plaintext: Buffer, aad?: Buffer): Buffer {
  let body = plaintext;
  if (version === 0) {
    const pad = BLOCK - (plaintext.length % BLOCK);
    body = Buffer.concat([plaintext, Buffer.alloc(pad, pad)]);
  }
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv(cipherName(key), key, nonce);
  if (aad && aad.length > 0) cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(body), cipher.final()]);
  return Buffer.concat([Buffer.from([version]), nonce, ct, cipher.getAuthTag()]);
}

// Tries every key; throws DecryptError naming why when none opens the message.
export function decrypt(keyring: Keyring, message: Buffer, aad?: Buffer): Buffer {
  if (message.length < 1 + NONCE + TAG)
    throw new DecryptError(`encrypted message of ${message.length} bytes is too short`);
  const version = message[0];
  if (version > 1) throw new DecryptError(`unsupported encryption version ${version}`);
  const nonce = message.subarray(1, 1 + NONCE);
  const ct = message.subarray(1 + NONCE, message.length - TAG);
  const tag = message.subarray(message.length - TAG);
  for (const key of keyring.all()) {
    try {
      const decipher = createDecipheriv(cipherName(key), key, nonce);
      if (aad && aad.length > 0) decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(ct), decipher.final()]);
      if (version === 0) {
        const pad = plain.length > 0 ? plain[plain.length - 1] : 0;
        if (pad < 1 || pad > BLOCK || pad > plain.length) throw new DecryptError('bad padding');
        return plain.subarray(0, plain.length - pad);
      }
      return plain;
    } catch (err) {
      if (err instanceof DecryptError) throw err;
      // Wrong key: try the next one.
    }
  }
  throw new DecryptError('no installed key decrypts the message (wrong or missing gossip key?)');
}
