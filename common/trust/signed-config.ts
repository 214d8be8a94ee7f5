import type { KeyObject } from 'node:crypto';
import { messageCodec } from '../proto-codec';
import { CertificateError, TrustAnchor, signPayload, verifyPayload } from '../pki';
import type { SignedConfig, SignedConfig__Output } from '../../generated/vxgossip/v1/SignedConfig';
import type { VniConfig, VniConfig__Output } from '../../generated/vxgossip/v1/VniConfig';

const configCodec = messageCodec<VniConfig, VniConfig__Output>('vxgossip.v1.VniConfig');
// Domain separation: a signature over a configuration is never valid as anything else.
const CONFIG_DOMAIN = 'vxgossip/config/v1';
// A configuration is a few VNIs and revocations; anything this large is not one.
const MAX_CONFIG_BYTES = 1 << 20;

export interface ConfigSigner {
  key: KeyObject;
  certificateDer: Buffer;
}

export class ConfigSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigSignatureError';
  }
}

export function signConfig(config: VniConfig, signer: ConfigSigner): SignedConfig {
  const bytes = configCodec.encode(config);
  return { config: bytes, signature: signPayload(signer.key, CONFIG_DOMAIN, bytes), signer: signer.certificateDer };
}

// The configuration inside, if the server signed it: the signer's certificate must come from a
// trusted CA with role server, and its key must have made the signature. Throws otherwise.
export function openSignedConfig(
  signed: SignedConfig__Output,
  anchor: TrustAnchor,
  nowMs = Date.now(),
): VniConfig__Output {
  if (signed.config.length === 0 || signed.config.length > MAX_CONFIG_BYTES)
    throw new ConfigSignatureError(`a configuration of ${signed.config.length} bytes is not one`);
  let signer;
  try {
    signer = anchor.verify(Buffer.from(signed.signer), nowMs);
  } catch (err) {
    const problem = err instanceof CertificateError ? err.problem : 'malformed';
    throw new ConfigSignatureError(`the configuration's signer certificate is ${problem}: ${(err as Error).message}`);
  }
  if (signer.role !== 'server')
    throw new ConfigSignatureError(`the configuration was signed by ${signer.role}:${signer.name}, not by a server`);
  if (!verifyPayload(signer.publicKey, CONFIG_DOMAIN, signed.config, signed.signature))
    throw new ConfigSignatureError("the configuration's signature does not verify");
  return configCodec.decode(signed.config);
}
