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

// IpamService over TLS with this node's certificate.
export class GrpcBlockClaims implements BlockClaims {
  private client: IpamServiceClient;

  constructor(
    private readonly server: string,
    credentials: grpc.ChannelCredentials,
  ) {
    this.client = new (v1().IpamService)(server, credentials);
  }

  // A renewed certificate.
  setCredentials(credentials: grpc.ChannelCredentials): void {
    this.client.close();
    this.client = new (v1().IpamService)(this.server, credentials);
  }

  async claim(vni: number, known: string[]): Promise<{ cidr: string; subnet: string }> {
    const block = await unaryCall<Block__Output>(
      (o, cb) => this.client.claimBlock({ vni, known }, o, cb),
      CALL_TIMEOUT_MS,
    ).catch((err: grpc.ServiceError) => {
      throw agentError(`claim an address block of VNI ${vni}`, this.server, err);
    });
    return { cidr: block.cidr, subnet: block.subnet };
  }

  async release(vni: number, cidr: string): Promise<void> {
    await unaryCall((o, cb) => this.client.releaseBlock({ vni, cidr }, o, cb), CALL_TIMEOUT_MS).catch(
      (err: grpc.ServiceError) => {
        throw agentError(`release block ${cidr} of VNI ${vni}`, this.server, err);
      },
    );
  }

  close(): void {
    this.client.close();
  }
}
