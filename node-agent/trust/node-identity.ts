import * as grpc from '@grpc/grpc-js';
import { KeyObject, createPublicKey } from 'node:crypto';
import { Identity, TrustAnchor, canonicalIp, loadPrivateKey } from '../../common/pki';
import type { LocalSigner } from '../gossip/record-bundles';
import type { StoredIdentity } from './identity-files';

// This node's identity at run time: its key and certificate (for the server stream and for signing
// our records) and the CAs peers' certificates must come from. Renewal swaps in a new one.
export class NodeIdentity {
  readonly anchor: TrustAnchor;
  readonly self: Identity;
  private readonly signerValue: LocalSigner;

  constructor(
    readonly stored: StoredIdentity,
    name: string,
    vtep: string,
  ) {
    this.anchor = new TrustAnchor(stored.caPem);
    this.self = this.anchor.verify(stored.certificatePem);
    if (this.self.role !== 'node' || this.self.name !== name)
      throw new Error(`the certificate names ${this.self.role}:${this.self.name}, not node:${name}`);
    if (!this.self.ips.includes(canonicalIp(vtep)))
      throw new Error(`the certificate of ${name} certifies VTEPs ${this.self.ips.join(', ')}, not --vtep ${vtep}`);
    const key = loadPrivateKey(stored.keyPem);
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (!spki(createPublicKey(key)).equals(spki(this.self.publicKey)))
      throw new Error(`the key of ${name} does not belong to its certificate`);
    this.signerValue = { name, key, fingerprint: this.self.fingerprint, certificateDer: this.self.der };
  }

  signer(): LocalSigner {
    return this.signerValue;
  }

  channelCredentials(): grpc.ChannelCredentials {
    const { caPem, keyPem, certificatePem } = this.stored;
    return grpc.credentials.createSsl(Buffer.from(caPem), Buffer.from(keyPem), Buffer.from(certificatePem));
  }

  // Renew once two thirds of the lifetime have passed, as the kubelet does (70-90 %).
  renewAtMs(): number {
    const { notBeforeMs, notAfterMs } = this.self;
    return notBeforeMs + ((notAfterMs - notBeforeMs) * 2) / 3;
  }
}
