import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import { unaryCall } from '../../common/grpc-client';
import type { VniServiceClient } from '../../generated/vxgossip/v1/VniService';

// The server speaks only TLS: give operatorCredentials(dataDir) (lab/credentials) for its operator.
export function vniClient(address: string, credentials: grpc.ChannelCredentials): VniServiceClient {
  return new (v1().VniService)(address, credentials);
}

// Calls a unary method and returns the gRPC error it failed with; fails the test if it succeeded.
export async function expectRpcError(invoke: Parameters<typeof unaryCall>[0]): Promise<grpc.ServiceError> {
  try {
    await unaryCall(invoke, 5000);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('the call succeeded but was expected to fail');
}
