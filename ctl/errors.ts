import * as grpc from '@grpc/grpc-js';
import { UsageError } from '../common/cli';
import { ValidationError } from '../common/validation';

export const EXIT_OK = 0;
export const EXIT_RPC = 1;
export const EXIT_USAGE = 2;
// `ctl status` (and `ctl keys`, when an agent did not answer): the command ran, the cluster is not well.
export const EXIT_DEGRADED = 3;

export const EXIT_CODES_HELP = `Exit codes:
  0  success (ctl status: the cluster is healthy)
  1  the server or the network failed, or refused the request (NOT_FOUND, ALREADY_EXISTS, ...)
  2  a usage error: an unknown command or flag, or a value ctl or the server judged invalid
  3  ctl status: the cluster is degraded (a host not alive, not connected or not in sync, or no
     hosts at all); ctl keys: an agent did not answer or failed; ctl vni ... --wait: the change
     was made, but a live host had not realised it by the deadline`;

// The command did what it was asked, and the cluster has not followed: exit 3.
export class DegradedError extends Error {}

// No address of --server answered: each with its error, in the order tried, and what to do then.
export class NoServerAnswered extends Error {
  constructor(
    readonly failures: Array<{ address: string; error: unknown }>,
    readonly next = 'are they running? choose others with --server or VXGOSSIP_SERVER',
  ) {
    super(`no server answered (tried ${failures.map((f) => f.address).join(', ')}); ${next}`);
  }
}

// grpc-js's own UNAVAILABLE (no connection) ends with its name resolution's note, which says nothing to
// an operator; the last connection error before it is what tells why.
function connectionError(details: string): string {
  const error = details
    .replace(/\.? ?Resolution note: .*$/s, '')
    .replace(/^No connection established\. Last error: (Error: )?/, '');
  // OpenSSL's "80DC…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:file.c:350": the reason.
  return /SSL routines:[^:]*:([^:]+):/.exec(error)?.[1] ?? error.trim();
}

// Why a TLS connection failed, as the operator can fix it; undefined when it was not TLS.
function tlsAdvice(error: string, server: string): string | undefined {
  if (/alert number 116|certificate required/i.test(error))
    return `the server at ${server} requires a client certificate and ctl presented none: give --credentials DIR, or --tls-cert FILE with --tls-key FILE, or --token-file FILE`;
  if (/alert number 4[28]|bad certificate|unknown ca/i.test(error))
    return `the server at ${server} refused ctl's client certificate (${error}): use an operator certificate from this cluster's CA (--credentials DIR)`;
  if (/wrong version number|packet length too long|before secure TLS connection|http\/1|EPROTO/i.test(error))
    return `the server at ${server} did not speak TLS (${error}): is it a vxgossip server, and this its gRPC port? (not its metrics port)`;
  if (
    /self[- ]signed|unable to verify|certificate verify failed|altnames|does not match|expired|not yet valid/i.test(
      error,
    )
  )
    return `ctl could not verify the server at ${server} (${error}): give the cluster's CA (--credentials DIR or --tls-ca FILE) and the address its certificate names`;
  return undefined;
}

// A status the server sent comes with its response headers; one grpc-js made up (no connection, the
// connection lost, the deadline passed) has none.
export function sentByServer(err: grpc.ServiceError): boolean {
  return err.metadata?.get('content-type').length > 0;
}

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
  if (err instanceof DegradedError) return { message: err.message, exitCode: EXIT_DEGRADED };
  if (err instanceof NoServerAnswered) {
    const each = err.failures.map((f) => `\n  ${describeFailure(f.error, f.address, timeoutMs).message}`);
    return { message: `${err.message}:${each.join('')}`, exitCode: EXIT_RPC };
  }
  if (!isServiceError(err)) return { message: err instanceof Error ? err.message : String(err), exitCode: EXIT_RPC };
  // ctl cancels no call it waits for: one grpc-js cancelled lost its connection (the server stopped).
  if (err.code === grpc.status.CANCELLED && !sentByServer(err))
    return {
      message: `the connection to the server at ${server} ended before it answered (${err.details}): the request may or may not have been carried out; check before repeating it`,
      exitCode: EXIT_RPC,
    };
  switch (err.code) {
    case grpc.status.INVALID_ARGUMENT:
      return { message: `invalid argument: ${err.details}`, exitCode: EXIT_USAGE };
    case grpc.status.UNAVAILABLE:
      if (sentByServer(err))
        return { message: `server at ${server} cannot serve now: ${err.details}`, exitCode: EXIT_RPC };
      return unreachable(connectionError(err.details), server);
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

function unreachable(error: string, server: string): { message: string; exitCode: number } {
  const advice = tlsAdvice(error, server);
  if (advice) return { message: advice, exitCode: EXIT_RPC };
  return {
    message: `server unreachable at ${server}: ${error} (is it running? choose another with --server or VXGOSSIP_SERVER)`,
    exitCode: EXIT_RPC,
  };
}
