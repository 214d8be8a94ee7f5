import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../../common/atomic-file';
import { CertificateAuthority, Role, TrustAnchor, loadPrivateKey } from '../../common/pki';
import type { ConfigSigner } from '../../common/trust/signed-config';
import type { Logger } from '../../common/log';
import type { DurableKv } from '../durable-kv';
import { Credential, issueCredential, stillGood } from './credentials';
import { KeyringStorage, ServerKeyring } from './server-keyring';
import { SIGNER, TrustMaterial, sharedTrust } from './shared-trust';

// What the server's trust rests on, made at first start: the cluster's CA, the key it signs the
// configuration with, the gossip keyring it hands to enrolling hosts (all three in the data dir's
// pki/, or with replicas in the shared store), and an operator credential for ctl (operator/, as
// kubeadm's admin.conf). Its TLS certificate is issued afresh at every start for the addresses it
// has then, by each replica for itself.
export interface ClusterPki {
  ca: CertificateAuthority;
  // Verifies clients: the cluster's CA, and an external one if given.
  clients: TrustAnchor;
  // What enrolling hosts are told to trust for peers and the server (PEM bundle).
  caBundlePem: string;
  tls: { certChainPem: string; keyPem: string };
  signer: ConfigSigner;
  keyring: ServerKeyring;
  // Whether hosts can enrol with a join token: the token pins the cluster CA, so the server's TLS
  // certificate must come from it (not so with --tls-cert from your own CA).
  enrolment: boolean;
}

export interface PkiOptions {
  dataDir: string;
  // Names and addresses clients reach the server by, besides those of this host.
  sans: string[];
  listenHost: string;
  // TLS certificate and key from your own CA, instead of one the cluster CA issues.
  externalTls?: { certPem: string; keyPem: string };
  // Another CA whose node and operator certificates are accepted too.
  externalClientCaPem?: string;
  // Server replicas share the CA, signer and keyring through this store (etcd) instead of files.
  shared?: DurableKv;
  log: Logger;
}

async function loadOrCreateCa(dir: string, log: Logger): Promise<CertificateAuthority> {
  const certFile = path.join(dir, 'ca.crt');
  const keyFile = path.join(dir, 'ca.key');
  if (fs.existsSync(certFile))
    return CertificateAuthority.fromPem(fs.readFileSync(certFile, 'utf8'), fs.readFileSync(keyFile, 'utf8'));
  const ca = await CertificateAuthority.create();
  writeFileAtomic(keyFile, ca.keyPem);
  writeFileAtomic(certFile, ca.certPem);
  log.info('created the cluster CA', { file: certFile, sha256: ca.fingerprint });
  return ca;
}

// A key and certificate in `dir`, issued again when missing or close to expiry.
async function credential(
  ca: CertificateAuthority,
  dir: string,
  file: string,
  subject: { role: Role; name: string },
): Promise<Credential> {
  const certFile = path.join(dir, `${file}.crt`);
  const keyFile = path.join(dir, `${file}.key`);
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const certPem = fs.readFileSync(certFile, 'utf8');
    if (stillGood(ca, certPem)) return { certPem, keyPem: fs.readFileSync(keyFile, 'utf8') };
  }
  const issued = await issueCredential(ca, subject);
  writeFileAtomic(keyFile, issued.keyPem);
  writeFileAtomic(certFile, issued.certPem);
  return issued;
}

// The keyring of one server, in its data dir.
function keyringFileStorage(file: string): KeyringStorage {
  let keys = readJson<string[]>(file) ?? [];
  if (keys.length === 0) {
    keys = [randomBytes(32).toString('base64')];
    writeJsonAtomic(file, keys);
  }
  return {
    current: () => keys,
    update: async (change) => {
      const next = change(keys);
      writeJsonAtomic(file, next);
      keys = next;
    },
  };
}

async function trustInFiles(dir: string, log: Logger): Promise<TrustMaterial> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await loadOrCreateCa(dir, log);
  const signer = await credential(ca, dir, 'signer', SIGNER);
  return { ca, signer, keyring: keyringFileStorage(path.join(dir, 'gossip-keyring.json')) };
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

function serverNames(options: PkiOptions): { ips: string[]; dnsNames: string[] } {
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const dnsNames = new Set<string>(['localhost', os.hostname()]);
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (!a.address.startsWith('fe80')) ips.add(a.address);
  }
  for (const name of [options.listenHost, ...options.sans]) {
    if (WILDCARDS.has(name)) continue;
    if (/^[0-9.]+$/.test(name) || name.includes(':')) ips.add(name.replace(/^\[|\]$/g, ''));
    else dnsNames.add(name);
  }
  return { ips: [...ips], dnsNames: [...dnsNames] };
}

export async function openClusterPki(options: PkiOptions): Promise<ClusterPki> {
  const { dataDir, log } = options;
  const operatorDir = path.join(dataDir, 'operator');
  fs.mkdirSync(operatorDir, { recursive: true, mode: 0o700 });
  const { ca, signer, keyring } = options.shared
    ? await sharedTrust(options.shared, log)
    : await trustInFiles(path.join(dataDir, 'pki'), log);
  await credential(ca, operatorDir, 'operator', { role: 'operator', name: 'admin' });
  writeFileAtomic(path.join(operatorDir, 'ca.crt'), ca.certPem);
  const tls =
    options.externalTls ?? (await issueCredential(ca, { role: 'server', name: 'vxgossip', ...serverNames(options) }));
  const caBundlePem = [ca.certPem, options.externalClientCaPem ?? ''].join('\n').trim() + '\n';
  return {
    ca,
    clients: new TrustAnchor(options.externalClientCaPem ? [ca.certPem, options.externalClientCaPem] : ca.certPem),
    caBundlePem,
    // The CA goes with the chain: an enrolling host pins it by hash before it trusts the server.
    tls: { certChainPem: `${tls.certPem.trim()}\n${ca.certPem}`, keyPem: tls.keyPem },
    signer: {
      key: loadPrivateKey(signer.keyPem),
      certificateDer: new TrustAnchor(ca.certPem).verify(signer.certPem).der,
    },
    keyring: new ServerKeyring(keyring),
    enrolment: !options.externalTls,
  };
}

export function gossipKeyringFile(dataDir: string): string {
  return path.join(dataDir, 'pki', 'gossip-keyring.json');
}
