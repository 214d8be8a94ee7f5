import * as grpc from '@grpc/grpc-js';
import { v1 } from '../common/proto';
import { unaryCall } from '../common/grpc-client';
import { createCertificateRequest, generateKeyPair, privateKeyToPem } from '../common/pki';
import type { ClusterServiceClient } from '../generated/vxgossip/v1/ClusterService';
import type { EnrollmentServiceClient } from '../generated/vxgossip/v1/EnrollmentService';
import type { EnrollResponse__Output } from '../generated/vxgossip/v1/EnrollResponse';
import type { JoinToken__Output } from '../generated/vxgossip/v1/JoinToken';
import { anonymousCredentials, operatorCredentials } from './credentials';

// Enrolment done in-process, for fakes that speak the agent protocol without being node-agent
// (benchmarks, tests driving the server with chosen records): the same steps a host takes, with the
// operator credential the server wrote standing in for the operator who makes the token.

export interface ServerRef {
  address: string;
  dataDir: string;
}

export interface NodeCredential {
  node: string;
  vteps: string[];
  caPem: string;
  keyPem: string;
  certificatePem: string;
  gossipKeys: string[];
  // mTLS with the node certificate: what AgentService and EnrollmentService.Renew demand.
  channelCredentials(): grpc.ChannelCredentials;
}

const TIMEOUT_MS = 10_000;

// A join token as `ctl token create` would make it, over the operator credential.
export async function requestJoinToken(server: ServerRef, options: { uses?: number; node?: string } = {}) {
  const client: ClusterServiceClient = new (v1().ClusterService)(server.address, operatorCredentials(server.dataDir));
  try {
    const res = await unaryCall<JoinToken__Output>(
      (o, cb) => client.createJoinToken({ ttlSeconds: 0, uses: options.uses ?? 1, node: options.node ?? '' }, o, cb),
      TIMEOUT_MS,
    );
    return res.token;
  } finally {
    client.close();
  }
}

// Makes a key, has the server certify it for `node` and `vteps` with a join token (a fresh one for
// this node when none is given) and returns the node's credential.
export async function enrolNode(
  server: ServerRef,
  node: string,
  vteps: string[],
  token?: string,
): Promise<NodeCredential> {
  const joinToken = token ?? (await requestJoinToken(server, { node }));
  const key = generateKeyPair();
  const client: EnrollmentServiceClient = new (v1().EnrollmentService)(
    server.address,
    anonymousCredentials(server.dataDir),
  );
  let res: EnrollResponse__Output;
  try {
    const certificateRequest = await createCertificateRequest(key, 'node', node);
    res = await unaryCall<EnrollResponse__Output>(
      (o, cb) => client.enroll({ token: joinToken, node, vteps, certificateRequest }, o, cb),
      TIMEOUT_MS,
    );
  } finally {
    client.close();
  }
  const credential = { caPem: res.caCertificates, keyPem: privateKeyToPem(key), certificatePem: res.certificate };
  return {
    node,
    vteps,
    ...credential,
    gossipKeys: res.gossipKeys,
    channelCredentials: () =>
      grpc.credentials.createSsl(
        Buffer.from(credential.caPem),
        Buffer.from(credential.keyPem),
        Buffer.from(credential.certificatePem),
      ),
  };
}
