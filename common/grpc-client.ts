import * as grpc from '@grpc/grpc-js';

export const DEFAULT_SERVER = '127.0.0.1:50051';

// Resolves the server address the way every vxgossip client does: flag, then environment, then default.
export function serverAddress(flag: string | undefined): string {
  return flag || process.env.VXGOSSIP_SERVER || DEFAULT_SERVER;
}

export function deadlineIn(ms: number): grpc.Deadline {
  return new Date(Date.now() + ms);
}

// Promise form of a unary call: `unaryCall((options, cb) => client.getVni(req, options, cb), 5000)`.
export function unaryCall<Res>(
  invoke: (options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    invoke({ deadline: deadlineIn(timeoutMs) }, (err, res) => (err ? reject(err) : resolve(res as Res))),
  );
}
