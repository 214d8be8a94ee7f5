import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import { certificateFingerprint, createCertificateRequest, generateKeyPair, privateKeyToPem } from '../../common/pki';
import type { EnrollResponse__Output } from '../../generated/vxgossip/v1/EnrollResponse';
import type { JoinToken } from '../../common/trust/join-token';
import type { StoredIdentity } from './identity-files';

const TIMEOUT_MS = 15_000;

export interface Enrolled {
  identity: StoredIdentity;
  gossipKeys: string[];
  response: EnrollResponse__Output;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

// The server's CA, trusted only if its SHA-256 is the one in the token: the TLS handshake is made
// without verification just to read the chain the server presents (it includes its CA).
export async function discoverCa(server: string, caSha256: string): Promise<string> {
  const { host, port } = splitHostPort(server);
  const chain = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error(`no TLS handshake within ${TIMEOUT_MS} ms`)));
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate(true));
      socket.end();
    });
    socket.once('error', reject);
  });
  const leaf = new X509Certificate(chain.raw);
  for (
    let c: tls.DetailedPeerCertificate | undefined = chain;
    c;
    c = c.issuerCertificate === c ? undefined : c.issuerCertificate
  ) {
    if (certificateFingerprint(c.raw) !== caSha256) continue;
    const ca = new X509Certificate(c.raw);
    if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey))
      throw new Error(`the server at ${server} presents a certificate its CA did not issue`);
    return ca.toString();
  }
  throw new Error(
    `the server at ${server} does not present the CA the join token names (sha-256 ${caSha256.slice(0, 16)}…): wrong server, or a token from another cluster`,
  );
}

function call<Req, Res>(
  method: (req: Req, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method(request, { deadline: Date.now() + TIMEOUT_MS }, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

// The first replica that presents the CA the token names, and that CA. Only this handshake moves on to
// the next replica: an Enroll, once sent, may have spent a use of the token.
async function firstPresentingCa(servers: string[], caSha256: string): Promise<{ server: string; caPem: string }> {
  const failed: string[] = [];
  for (const server of servers) {
    try {
      return { server, caPem: await discoverCa(server, caSha256) };
    } catch (err) {
      failed.push(servers.length > 1 ? `${server}: ${(err as Error).message}` : (err as Error).message);
    }
  }
  throw new Error(failed.join('; '));
}

// Enrolment (kubelet TLS bootstrap): we make our key, the server certifies it for our name and VTEPs.
export async function enrol(options: {
  servers: string[];
  token: JoinToken;
  name: string;
  vteps: string[];
}): Promise<Enrolled> {
  const { server, caPem } = await firstPresentingCa(options.servers, options.token.caSha256);
  const key = generateKeyPair();
  const client = new (v1().EnrollmentService)(server, grpc.credentials.createSsl(Buffer.from(caPem)));
  try {
    const response = await call<Parameters<typeof client.Enroll>[0], EnrollResponse__Output>(
      (req, opts, cb) => client.Enroll(req, opts, cb),
      {
        token: `${options.token.id}.${options.token.secret}`,
        node: options.name,
        vteps: options.vteps,
        certificateRequest: await createCertificateRequest(key, 'node', options.name),
      },
    );
    return {
      identity: {
        keyPem: privateKeyToPem(key),
        certificatePem: response.certificate,
        caPem: response.caCertificates || caPem,
      },
      gossipKeys: response.gossipKeys,
      response,
    };
  } finally {
    client.close();
  }
}

// A new certificate for the same name and VTEPs, asked for with the current one (and a new key).
export async function renew(server: string, current: StoredIdentity, name: string): Promise<StoredIdentity> {
  const key = generateKeyPair();
  const credentials = grpc.credentials.createSsl(
    Buffer.from(current.caPem),
    Buffer.from(current.keyPem),
    Buffer.from(current.certificatePem),
  );
  const client = new (v1().EnrollmentService)(server, credentials);
  try {
    const response = await call<Parameters<typeof client.Renew>[0], EnrollResponse__Output>(
      (req, opts, cb) => client.Renew(req, opts, cb),
      { certificateRequest: await createCertificateRequest(key, 'node', name) },
    );
    return {
      keyPem: privateKeyToPem(key),
      certificatePem: response.certificate,
      caPem: response.caCertificates || current.caPem,
    };
  } finally {
    client.close();
  }
}
