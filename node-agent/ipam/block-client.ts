import * as grpc from '@grpc/grpc-js';
import { unaryCall } from '../../common/grpc-client';
import { v1 } from '../../common/proto';
import type { IpamServiceClient } from '../../generated/vxgossip/v1/IpamService';
import type { Block__Output } from '../../generated/vxgossip/v1/Block';
import { AgentError, AgentErrorKind } from '../agent-errors';

// Short: an allocation that needs a new block waits for this while the server is down.
const CALL_TIMEOUT_MS = 5_000;

// What the allocator asks the server for; the server knows who we are from our certificate.
export interface BlockClaims {
  claim(vni: number, known: string[]): Promise<{ cidr: string; subnet: string }>;
  release(vni: number, cidr: string): Promise<void>;
}

const KINDS: Partial<Record<grpc.status, AgentErrorKind>> = {
  [grpc.status.NOT_FOUND]: 'not-found',
  [grpc.status.FAILED_PRECONDITION]: 'failed-precondition',
  [grpc.status.RESOURCE_EXHAUSTED]: 'resource-exhausted',
  [grpc.status.INVALID_ARGUMENT]: 'invalid-argument',
  [grpc.status.PERMISSION_DENIED]: 'failed-precondition',
};

// A refusal keeps the server's kind and words; anything else (down, timed out, failing) is 'unavailable'.
function agentError(what: string, server: string, err: grpc.ServiceError): AgentError {
  const kind = KINDS[err.code];
  if (kind) return new AgentError(kind, `the server refused to ${what}: ${err.details}`);
  return new AgentError(
    'unavailable',
    `cannot reach the server at ${server} to ${what} (${grpc.status[err.code] ?? err.code}: ${err.details}); retry once it is back`,
  );
}

// IpamService over TLS with this node's certificate, at the replica the agent's stream is up to (the
// one that answers); a claim is not sent again elsewhere, as the first may have been taken.
export class GrpcBlockClaims implements BlockClaims {
  // A client per replica, made when first asked.
  private readonly clients = new Map<string, IpamServiceClient>();

  constructor(
    private readonly server: () => string,
    private credentials: grpc.ChannelCredentials,
  ) {}

  // A renewed certificate.
  setCredentials(credentials: grpc.ChannelCredentials): void {
    this.close();
    this.credentials = credentials;
  }

  async claim(vni: number, known: string[]): Promise<{ cidr: string; subnet: string }> {
    const server = this.server();
    const block = await unaryCall<Block__Output>(
      (o, cb) => this.client(server).claimBlock({ vni, known }, o, cb),
      CALL_TIMEOUT_MS,
    ).catch((err: grpc.ServiceError) => {
      throw agentError(`claim an address block of VNI ${vni}`, server, err);
    });
    return { cidr: block.cidr, subnet: block.subnet };
  }

  async release(vni: number, cidr: string): Promise<void> {
    const server = this.server();
    await unaryCall((o, cb) => this.client(server).releaseBlock({ vni, cidr }, o, cb), CALL_TIMEOUT_MS).catch(
      (err: grpc.ServiceError) => {
        throw agentError(`release block ${cidr} of VNI ${vni}`, server, err);
      },
    );
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(server: string): IpamServiceClient {
    let client = this.clients.get(server);
    if (!client) {
      client = new (v1().IpamService)(server, this.credentials);
      this.clients.set(server, client);
    }
    return client;
  }
}
