import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { AuthContext } from '@grpc/grpc-js/build/src/auth-context';
import { CertificateError, Identity, TrustAnchor } from '../../common/pki';
import type { Revocations } from '../../common/trust/revocations';

// Why a caller was turned away; each is counted (vxgossip_auth_refused_total).
export const AUTH_REFUSALS = [
  'no-certificate',
  'untrusted-certificate',
  'wrong-role',
  'revoked',
  'name-mismatch',
  'bad-token',
] as const;
export type AuthRefusal = (typeof AUTH_REFUSALS)[number];

// Who may call a method: anyone (health, reflection), a host holding a join token (enrolment), an
// enrolled host (its stream, renewal), or an operator (everything else).
type Policy = 'public' | 'join-token' | 'node' | 'operator';

// Methods a host calls for itself; the node is the one its certificate names.
const NODE_METHODS = new Set([
  '/vxgossip.v1.EnrollmentService/Renew',
  '/vxgossip.v1.IpamService/ClaimBlock',
  '/vxgossip.v1.IpamService/ReleaseBlock',
]);

function policyOf(path: string): Policy {
  if (path.startsWith('/grpc.health.v1.') || path.startsWith('/grpc.reflection.')) return 'public';
  if (path === '/vxgossip.v1.EnrollmentService/Enroll') return 'join-token';
  if (path.startsWith('/vxgossip.v1.AgentService/') || NODE_METHODS.has(path)) return 'node';
  return 'operator';
}

export class AuthError extends Error {
  constructor(
    readonly reason: AuthRefusal,
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

// Identity comes from the verified client certificate, never from a message: a host is the node its
// certificate names, an operator holds an operator certificate (or the bearer token).
export class Authorizer {
  constructor(
    private readonly anchor: TrustAnchor,
    private readonly revocations: () => Revocations,
    private readonly onRefused: (reason: AuthRefusal, path: string, message: string) => void,
    private readonly operatorToken?: string,
  ) {}

  // The caller's certificate, verified; undefined if it presented none.
  identify(call: { getAuthContext(): AuthContext | null }): Identity | undefined {
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    if (!raw || raw.length === 0) return undefined;
    let identity: Identity;
    try {
      identity = this.anchor.verify(raw);
    } catch (err) {
      const detail = err instanceof CertificateError ? err.message : String(err);
      throw new AuthError(
        'untrusted-certificate',
        grpc.status.UNAUTHENTICATED,
        `client certificate refused: ${detail}`,
      );
    }
    if (this.revocations().revokes(identity))
      throw new AuthError('revoked', grpc.status.PERMISSION_DENIED, `node ${identity.name} has been revoked`);
    return identity;
  }

  // The node a call comes from; throws AuthError for anyone else.
  requireNode(call: { getAuthContext(): AuthContext | null }): Identity {
    const identity = this.identify(call);
    if (!identity)
      throw new AuthError('no-certificate', grpc.status.UNAUTHENTICATED, 'an agent must present its node certificate');
    if (identity.role !== 'node')
      throw new AuthError(
        'wrong-role',
        grpc.status.PERMISSION_DENIED,
        `a ${identity.role} certificate cannot act as a host; hosts enrol with a join token`,
      );
    return identity;
  }

  private requireOperator(call: grpc.ServerInterceptingCallInterface, metadata: grpc.Metadata): void {
    const identity = this.identify(call);
    if (identity?.role === 'operator') return;
    if (identity)
      throw new AuthError(
        'wrong-role',
        grpc.status.PERMISSION_DENIED,
        `a ${identity.role} certificate (${identity.name}) cannot call operator methods`,
      );
    if (this.validToken(metadata)) return;
    throw new AuthError(
      this.operatorToken && metadata.get('authorization').length > 0 ? 'bad-token' : 'no-certificate',
      grpc.status.UNAUTHENTICATED,
      'an operator credential is required: give ctl --credentials DIR (the server writes one to DATA/operator)' +
        (this.operatorToken ? ' or --token-file FILE' : ''),
    );
  }

  private validToken(metadata: grpc.Metadata): boolean {
    if (!this.operatorToken) return false;
    const expected = Buffer.from(`Bearer ${this.operatorToken}`);
    return metadata.get('authorization').some((v) => {
      const got = Buffer.from(String(v));
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
  }

  interceptor(): grpc.ServerInterceptor {
    return (method, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) => {
          next({
            onReceiveMetadata: (metadata, nextMetadata) => {
              try {
                const policy = policyOf(method.path);
                if (policy === 'node') this.requireNode(call);
                else if (policy === 'operator') this.requireOperator(call, metadata);
              } catch (err) {
                if (!(err instanceof AuthError)) throw err;
                this.onRefused(err.reason, method.path, err.message);
                call.sendStatus({ code: err.code, details: err.message });
                return;
              }
              nextMetadata(metadata);
            },
          });
        },
      });
  }
}

// TLS that asks every client for a certificate but lets one without through the handshake, so a
// host with a join token can enrol; the interceptor decides per method who may call it.
export class OptionalClientCertificates extends grpc.ServerCredentials {
  constructor(caPem: string, certChainPem: string, keyPem: string) {
    super(
      { requestCert: true, rejectUnauthorized: false },
      { ca: Buffer.from(caPem), cert: Buffer.from(certChainPem), key: Buffer.from(keyPem) },
    );
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}
