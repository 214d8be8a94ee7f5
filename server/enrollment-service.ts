import * as grpc from '@grpc/grpc-js';
import type { EnrollmentServiceHandlers } from '../generated/vxgossip/v1/EnrollmentService';
import type { EnrollResponse } from '../generated/vxgossip/v1/EnrollResponse';
import type { Logger } from '../common/log';
import { CertificateError, Identity, TrustAnchor, readCertificateRequest } from '../common/pki';
import { ValidationError, checkIp, checkNodeName } from '../common/validation';
import { RpcError } from './grpc-errors';
import { unary } from './rpc';
import type { AgentHub } from './agent-hub';
import type { VniConfigStore } from './vni-config-store';
import type { ClusterPki } from './trust/cluster-pki';
import type { JoinTokens } from './trust/join-tokens';
import type { NodeRegistry, Prerequisite } from './trust/node-registry';
import type { ServerKeyring } from './trust/server-keyring';
import type { Authorizer } from './trust/authorization';

const MAX_VTEPS = 8;
const CLOCK_SKEW_MS = 60_000;

export interface EnrollmentDeps {
  pki: ClusterPki;
  tokens: JoinTokens;
  registry: NodeRegistry;
  keyring: ServerKeyring;
  hub: AgentHub;
  store: VniConfigStore;
  authorizer: Authorizer;
  certificateTtlMs: number;
  log: Logger;
}

async function publicKeyOf(csr: string) {
  try {
    return (await readCertificateRequest(csr)).publicKey;
  } catch (err) {
    const detail = err instanceof CertificateError ? err.message : String(err);
    throw new ValidationError('certificate_request', detail);
  }
}

// Enrolment and renewal: the server certifies a host's own key for its name and VTEPs.
export function enrollmentService(deps: EnrollmentDeps): EnrollmentServiceHandlers {
  const { pki, tokens, registry, keyring, hub, store } = deps;
  const log = deps.log.child({ part: 'enrolment' });
  // A minute back for hosts whose clocks lag, but always after any revocation of the name, so a
  // re-enrolled host is not revoked by it.
  const notBeforeFor = (name: string) => {
    const revokedAt = store.revocations().find((r) => r.node === name)?.revokedAtMs;
    const skewed = Math.floor((Date.now() - CLOCK_SKEW_MS) / 1000) * 1000;
    return new Date(revokedAt === undefined ? skewed : Math.max(skewed, Math.floor(revokedAt / 1000) * 1000 + 1000));
  };
  // `prerequisite` (a join token's use) is written with the node's record, in one guarded write.
  const issue = async (
    name: string,
    vteps: string[],
    csr: string,
    prerequisite?: () => Promise<Prerequisite>,
  ): Promise<EnrollResponse> => {
    const publicKey = await publicKeyOf(csr);
    const notBefore = notBeforeFor(name);
    const certificate = await pki.ca.issue({
      role: 'node',
      name,
      ips: vteps,
      publicKey,
      // The lifetime counts from now, not from the backdated start.
      validForMs: deps.certificateTtlMs + Math.max(0, Date.now() - notBefore.getTime()),
      notBefore,
    });
    const identity: Identity = new TrustAnchor(pki.ca.certPem).verify(certificate, Date.now() + 5_000);
    await registry.record(
      { name, vteps, fingerprint: identity.fingerprint, notAfterMs: identity.notAfterMs },
      prerequisite,
    );
    return { certificate, caCertificates: pki.caBundlePem, gossipKeys: keyring.keys(), config: hub.signedConfig() };
  };
  return {
    Enroll: unary(log, 'Enroll', [], async (req) => {
      const name = checkNodeName('node', req.node);
      if (req.vteps.length === 0 || req.vteps.length > MAX_VTEPS)
        throw new ValidationError('vteps', `give 1 to ${MAX_VTEPS} VTEP addresses`);
      const vteps = req.vteps.map((v) => checkIp('vteps', v));
      await publicKeyOf(req.certificateRequest);
      // Checked again with every attempt to write, against what the token and registry are then.
      const spendToken = async () => {
        const redemption = await tokens.redeem(req.token, name);
        registry.checkFree(name, vteps, redemption.boundToNode);
        return redemption;
      };
      // A host refused for its token or name gets no certificate, and keeps its token.
      await spendToken();
      const response = await issue(name, vteps, req.certificateRequest, spendToken);
      log.info('node enrolled', { node: name, vteps });
      return response;
    }),
    Renew: (call, callback) => {
      let identity: Identity;
      try {
        identity = deps.authorizer.requireNode(call);
      } catch (err) {
        callback({ code: (err as RpcError).code ?? grpc.status.UNAUTHENTICATED, details: (err as Error).message });
        return;
      }
      unary(log, 'Renew', [], async (req: { certificateRequest: string }) => {
        const response = await issue(identity.name, identity.ips, req.certificateRequest);
        log.info('node certificate renewed', { node: identity.name });
        return response;
      })(call, callback);
    },
  };
}
