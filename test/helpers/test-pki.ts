import { createPublicKey } from 'node:crypto';
import { CertificateAuthority, TrustAnchor, generateKeyPair } from '../../common/pki';
import type { ConfigSigner } from '../../common/trust/signed-config';
import type { LocalSigner } from '../../node-agent/gossip/record-bundles';

const DAY_MS = 24 * 3600_000;

// A cluster CA in memory for unit tests: node signers and a configuration signer, as enrolment and
// the server's first start would make them.
export class TestPki {
  readonly anchor: TrustAnchor;

  private constructor(readonly ca: CertificateAuthority) {
    this.anchor = new TrustAnchor(ca.certPem);
  }

  static async create(): Promise<TestPki> {
    return new TestPki(await CertificateAuthority.create('test CA'));
  }

  async node(name: string, vteps: string[], notBefore = new Date(Date.now() - 60_000)): Promise<LocalSigner> {
    const key = generateKeyPair();
    const pem = await this.ca.issue({
      role: 'node',
      name,
      ips: vteps,
      publicKey: createPublicKey(key),
      validForMs: DAY_MS,
      notBefore,
    });
    const identity = this.anchor.verify(pem);
    return { name, key, fingerprint: identity.fingerprint, certificateDer: identity.der };
  }

  async configSigner(role: 'server' | 'node' = 'server'): Promise<ConfigSigner> {
    const key = generateKeyPair();
    const pem = await this.ca.issue({
      role,
      name: 'config-signer',
      publicKey: createPublicKey(key),
      validForMs: DAY_MS,
      notBefore: new Date(Date.now() - 60_000),
    });
    return { key, certificateDer: this.anchor.verify(pem).der };
  }
}
