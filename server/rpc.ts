import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/log';
import { ErrorMapping, toServiceError } from '../common/grpc-errors';

// Adapts a promise-returning handler to grpc-js's callback style, mapping errors to status codes.
export function unary<Req, Res>(log: Logger, method: string, mapping: ErrorMapping, handler: (req: Req) => Promise<Res> | Res) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const serviceError = toServiceError(err, mapping);
          log.info('rpc failed', { method, code: grpc.status[serviceError.code!], details: serviceError.details });
          callback(serviceError);
        },
      );
  };
}
