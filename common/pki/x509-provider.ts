// The one place that loads @peculiar/x509: its dependency injection (tsyringe) needs the Reflect
// metadata polyfill before the library loads, and it signs through WebCrypto, which Node provides.
import { KeyObject, createPublicKey, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

let loaded: typeof X509 | undefined;

// Loaded on first use: the library and its dependencies cost about 1.5 s of CPU to load, which an
// agent should pay only when it enrols or renews, not at every start (verifying needs only Node).
export function x509(): typeof X509 {
  if (!loaded) {
    /* eslint-disable @typescript-eslint/no-require-imports -- a deferred load; import() would make every caller async */
    require('reflect-metadata');
    loaded = require('@peculiar/x509') as typeof X509;
    /* eslint-enable @typescript-eslint/no-require-imports */
    loaded.cryptoProvider.set(webcrypto);
  }
  return loaded;
}

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
