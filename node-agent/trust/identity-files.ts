import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../../common/atomic-file';

// The node's identity as enrolment left it in --data-dir: its private key (0600, never leaves the
// host), its certificate, the CAs that certify peers, and the gossip keyring the server handed out.
export interface StoredIdentity {
  keyPem: string;
  certificatePem: string;
  caPem: string;
}

const dirOf = (dataDir: string) => path.join(dataDir, 'identity');
const KEY = 'node.key';
const CERTIFICATE = 'node.crt';
const CA = 'ca.crt';
const KEYRING = 'gossip-keyring.json';

export function keyringFileOf(dataDir: string): string {
  return path.join(dirOf(dataDir), KEYRING);
}

export function loadIdentity(dataDir: string): StoredIdentity | undefined {
  const dir = dirOf(dataDir);
  const read = (name: string) => {
    try {
      return fs.readFileSync(path.join(dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${path.join(dir, name)}: ${(err as Error).message}`);
    }
  };
  const keyPem = read(KEY);
  const certificatePem = read(CERTIFICATE);
  const caPem = read(CA);
  if (keyPem === undefined && certificatePem === undefined) return undefined;
  if (keyPem === undefined || certificatePem === undefined || caPem === undefined)
    throw new Error(
      `${dir} is incomplete (${KEY}, ${CERTIFICATE} and ${CA} belong together): enrol again with --join-token`,
    );
  return { keyPem, certificatePem, caPem };
}

// The key first: a certificate without its key would be useless after a crash in between.
export function saveIdentity(dataDir: string, identity: StoredIdentity): void {
  const dir = dirOf(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(path.join(dir, KEY), identity.keyPem);
  writeFileAtomic(path.join(dir, CA), identity.caPem);
  writeFileAtomic(path.join(dir, CERTIFICATE), identity.certificatePem);
}

export function loadEnrolledKeyring(dataDir: string): string[] | undefined {
  return readJson<string[]>(keyringFileOf(dataDir));
}

export function saveEnrolledKeyring(dataDir: string, keys: string[]): void {
  fs.mkdirSync(dirOf(dataDir), { recursive: true, mode: 0o700 });
  writeJsonAtomic(keyringFileOf(dataDir), keys);
}
