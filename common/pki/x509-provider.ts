// The one place that loads @peculiar/x509: its dependency injection (tsyringe) needs the Reflect
// metadata polyfill before the library loads, and it signs through WebCrypto, which Node provides.
import 'reflect-metadata';
import { KeyObject, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };

export const P256 = { name: 'ECDSA', namedCurve: 'P-256' };
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

// The library signs with WebCrypto keys; everything else here holds Node KeyObjects.
export async function toCryptoKeyPair(privateKey: KeyObject): Promise<webcrypto.CryptoKeyPair> {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const [priv, pub] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, P256, false, ['sign']),
    webcrypto.subtle.importKey('spki', spki, P256, true, ['verify']),
  ]);
  return { privateKey: priv, publicKey: pub };
}
