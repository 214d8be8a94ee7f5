import { randomBytes } from 'node:crypto';
import { CertificateAuthority } from '../../common/pki';
import type { Logger } from '../../common/log';
import { MAX_ATTEMPTS, untilCommitted, type DurableKv, type KvEntry } from '../durable-kv';
import { StorageUnavailableError } from '../database';
import { Credential, issueCredential, stillGood } from './credentials';
import type { KeyringStorage } from './server-keyring';

export const SIGNER = { role: 'server', name: 'config-signer' } as const;

// What every replica must hold the same of: the CA, the key configuration is signed with, the keyring.
export interface TrustMaterial {
  ca: CertificateAuthority;
  signer: Credential;
  keyring: KeyringStorage;
}

const CA_CERT = 'pki/ca.crt';
const CA_KEY = 'pki/ca.key';
const SIGNER_CERT = 'pki/signer.crt';
const SIGNER_KEY = 'pki/signer.key';
const KEYRING = 'pki/gossip-keyring';

const newKeyring = () => JSON.stringify([randomBytes(32).toString('base64')]);

async function byKey(kv: DurableKv, prefix: string): Promise<Map<string, KvEntry>> {
  return new Map((await kv.range(prefix)).map((e) => [e.key, e]));
}

const lostRaces = (what: string) =>
  new StorageUnavailableError(
    `other server replicas kept changing ${what}: ${MAX_ATTEMPTS} attempts lost the race; retry`,
  );

// The CA, made by whichever replica starts first: it writes the CA, the signer and the keyring in
// one write that holds only if there is no CA yet; every other replica reads what won.
async function sharedCa(kv: DurableKv, log: Logger): Promise<CertificateAuthority> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const [cert, key] = [await kv.get(CA_CERT), await kv.get(CA_KEY)];
    if (cert && key) return CertificateAuthority.fromPem(cert.value, key.value);
    const ca = await CertificateAuthority.create();
    const signer = await issueCredential(ca, SIGNER);
    const created = await kv.write(
      [
        { type: 'put', key: CA_KEY, value: ca.keyPem },
        { type: 'put', key: CA_CERT, value: ca.certPem },
        { type: 'put', key: SIGNER_KEY, value: signer.keyPem },
        { type: 'put', key: SIGNER_CERT, value: signer.certPem },
        { type: 'put', key: KEYRING, value: newKeyring() },
      ],
      [{ key: CA_KEY, version: undefined }],
    );
    if (created) {
      log.info('created the cluster CA in the shared store', { sha256: ca.fingerprint });
      return ca;
    }
  }
  throw lostRaces('the cluster CA');
}

// The signer as stored (key and certificate read together), issued again when close to expiry.
async function sharedSigner(kv: DurableKv, ca: CertificateAuthority): Promise<Credential> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await byKey(kv, 'pki/signer.');
    const [cert, key] = [stored.get(SIGNER_CERT), stored.get(SIGNER_KEY)];
    if (cert && key && stillGood(ca, cert.value)) return { certPem: cert.value, keyPem: key.value };
    const signer = await issueCredential(ca, SIGNER);
    const renewed = await kv.write(
      [
        { type: 'put', key: SIGNER_KEY, value: signer.keyPem },
        { type: 'put', key: SIGNER_CERT, value: signer.certPem },
      ],
      [{ key: SIGNER_CERT, version: cert?.version }],
    );
    if (renewed) return signer;
  }
  throw lostRaces('the configuration signer');
}

// The keyring in the shared store, followed: a change `ctl keys` made through another replica is
// what this one hands to the next enrolling host.
async function sharedKeyring(kv: DurableKv): Promise<KeyringStorage> {
  let stored: KvEntry | undefined;
  const follower = await kv.follow(KEYRING, {
    reset: (entries) => (stored = entries.find((e) => e.key === KEYRING)),
    change: (key, entry) => (key === KEYRING ? (stored = entry) : undefined),
  });
  if (!stored)
    await kv.write([{ type: 'put', key: KEYRING, value: newKeyring() }], [{ key: KEYRING, version: undefined }]);
  await follower.resync();
  const current = () => (stored ? (JSON.parse(stored.value) as string[]) : []);
  return {
    current,
    update: (change) =>
      untilCommitted(
        'the gossip keyring',
        () =>
          kv.write(
            [{ type: 'put', key: KEYRING, value: JSON.stringify(change(current())) }],
            [{ key: KEYRING, version: stored?.version }],
          ),
        () => follower.resync(),
      ),
  };
}

// The trust material server replicas share, in the store under pki/. Each replica still makes its own
// TLS certificate (for its own addresses) and operator credential from the shared CA.
export async function sharedTrust(kv: DurableKv, log: Logger): Promise<TrustMaterial> {
  const ca = await sharedCa(kv, log);
  return { ca, signer: await sharedSigner(kv, ca), keyring: await sharedKeyring(kv) };
}
