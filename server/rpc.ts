import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/log';
import { ErrorMapping, toServiceError } from './grpc-errors';

type RpcObserver = (method: string, code: string, seconds: number) => void;
let observer: RpcObserver = () => undefined;

// Where RPC latencies go (the server's metrics); one per process.
export function observeRpcs(o: RpcObserver): void {
  observer = o;
}

// Adapts a promise-returning handler to grpc-js's callback style, mapping errors to status codes.
export function unary<Req, Res>(
  log: Logger,
  method: string,
  mapping: ErrorMapping,
  handler: (req: Req) => Promise<Res> | Res,
) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (res) => {
          observer(method, 'OK', seconds());
          callback(null, res);
        },
        (err: unknown) => {
          const serviceError = toServiceError(err, mapping);
          observer(method, grpc.status[serviceError.code!], seconds());
          log.info('rpc failed', { method, code: grpc.status[serviceError.code!], details: serviceError.details });
          callback(serviceError);
        },
      );
  };
}

// Ends a server stream with a status the client sees. grpc-js sends the status of an error the
// stream emits; destroy() would reach the client only as CANCELLED.
export function endStream(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  code: grpc.status,
  details: string,
): void {
  call.emit('error', { code, details });
}
