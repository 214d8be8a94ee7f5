import * as grpc from '@grpc/grpc-js';
import { UsageError } from '../common/cli';
import { ValidationError } from '../common/validation';

export const EXIT_OK = 0;
export const EXIT_RPC = 1;
export const EXIT_USAGE = 2;

function isServiceError(err: unknown): err is grpc.ServiceError {
  return (
    typeof err === 'object' && err !== null && typeof (err as grpc.ServiceError).code === 'number' && 'details' in err
  );
}

// What to tell the user and which exit code to use: 2 for anything they typed wrong (locally or as the
// server judged it), 1 for everything the server or the network did.
export function describeFailure(
  err: unknown,
  server: string,
  timeoutMs: number,
): { message: string; exitCode: number } {
  if (err instanceof UsageError || err instanceof ValidationError)
    return { message: err.message, exitCode: EXIT_USAGE };
  if (!isServiceError(err)) return { message: err instanceof Error ? err.message : String(err), exitCode: EXIT_RPC };
  switch (err.code) {
    case grpc.status.INVALID_ARGUMENT:
      return { message: `invalid argument: ${err.details}`, exitCode: EXIT_USAGE };
    case grpc.status.UNAVAILABLE:
      // A status the server sent comes with its response headers; one grpc-js made up has none.
      if (err.metadata?.get('content-type').length)
        return { message: `server at ${server} cannot serve now: ${err.details}`, exitCode: EXIT_RPC };
      return {
        message: `server unreachable at ${server}: ${err.details} (is it running? choose another with --server or VXGOSSIP_SERVER)`,
        exitCode: EXIT_RPC,
      };
    case grpc.status.DEADLINE_EXCEEDED:
      return {
        message: `server at ${server} did not answer within ${timeoutMs} ms (--timeout raises the limit)`,
        exitCode: EXIT_RPC,
      };
    default:
      return {
        message: `${grpc.status[err.code]?.toLowerCase().replace(/_/g, ' ') ?? `error ${err.code}`}: ${err.details}`,
        exitCode: EXIT_RPC,
      };
  }
}
