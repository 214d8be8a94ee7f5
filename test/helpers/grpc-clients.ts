import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import { unaryCall } from '../../common/grpc-client';
import type { VniServiceClient } from '../../generated/vxgossip/v1/VniService';

export function vniClient(address: string): VniServiceClient {
  return new (v1().VniService)(address, grpc.credentials.createInsecure());
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
