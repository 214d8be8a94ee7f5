import * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../common/validation';

// An error that already knows the gRPC status it should be answered with.
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export type ErrorMapping = Array<[new (...args: never[]) => Error, grpc.status]>;

// Turns a thrown error into a gRPC ServiceError: known kinds keep their message with the right code,
// anything else is INTERNAL (and its message is kept: operators need it more than secrecy here).
export function toServiceError(err: unknown, mapping: ErrorMapping = []): Partial<grpc.ServiceError> {
  if (err instanceof RpcError) return { code: err.code, details: err.message };
  if (err instanceof ValidationError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
  for (const [kind, code] of mapping) {
    if (err instanceof kind) return { code, details: err.message };
  }
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}
