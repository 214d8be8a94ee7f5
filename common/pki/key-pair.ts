import { KeyObject, createPrivateKey, generateKeyPairSync } from 'node:crypto';

// One key type everywhere: ECDSA P-256 is what Node's TLS and grpcio both speak, and it signs and
// verifies fast enough to sign every gossip record.

export function generateKeyPair(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

export function isP256Key(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

export function privateKeyToPem(key: KeyObject): string {
  if (key.type !== 'private') throw new Error(`expected a private key, got a ${key.type} key`);
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function loadPrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(
      `not a usable PEM private key (${(err as Error).message}); expected an unencrypted PKCS#8 or SEC1 EC key`,
    );
  }
  if (!isP256Key(key)) {
    throw new Error(
      `private key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''}, expected EC P-256`,
    );
  }
  return key;
}
