import * as grpc from '@grpc/grpc-js';
import { shown } from '../common/validation';
import { endStream } from './rpc';

const MALFORMED = Symbol('malformed request');

interface Malformed {
  [MALFORMED]: string;
}

const malformedOf = (request: unknown): string | undefined =>
  typeof request === 'object' && request !== null && MALFORMED in request
    ? (request as Malformed)[MALFORMED]
    : undefined;

type AnyHandler = (...args: never[]) => unknown;
type Method = grpc.MethodDefinition<object, object>;

// grpc-js answers a request it cannot decode (a field with the wrong wire type, a truncated message)
// with INTERNAL, as if the server had failed. It is the caller's error: a method's single request is
// decoded leniently here and answered INVALID_ARGUMENT, and so is a bidi stream (the agent stream) at
// the first message it cannot decode. A client stream with one answer (the API has none) is left alone.
export function refusingMalformed<Handlers extends grpc.UntypedServiceImplementation>(
  definition: grpc.ServiceDefinition,
  handlers: Handlers,
): [grpc.ServiceDefinition, Handlers] {
  const lenient: Record<string, Method> = {};
  const wrapped: grpc.UntypedServiceImplementation = { ...handlers };
  for (const [name, method] of Object.entries(definition) as Array<[string, Method]>) {
    const handler = handlers[name] as AnyHandler | undefined;
    if (!handler || (method.requestStream && !method.responseStream)) {
      lenient[name] = method;
      continue;
    }
    lenient[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          return { [MALFORMED]: (err as Error).message };
        }
      },
    };
    wrapped[name] = refuseFirst(method, handler) as grpc.UntypedHandleCall;
  }
  return [lenient, wrapped as Handlers];
}

function refuseFirst(method: Method, handler: AnyHandler) {
  const refusal = (why: string) =>
    `request: not a valid ${method.path} message (${shown(why)}): a field has the wrong wire type or the message is cut short`;
  if (method.requestStream) return refusingMalformedMessages(refusal, handler);
  if (method.responseStream) {
    return (call: grpc.ServerWritableStream<object, object>) => {
      const why = malformedOf(call.request);
      if (why === undefined) return (handler as (c: typeof call) => unknown)(call);
      endStream(call, grpc.status.INVALID_ARGUMENT, refusal(why));
    };
  }
  return (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
    const why = malformedOf(call.request);
    if (why === undefined) return (handler as (c: typeof call, cb: typeof callback) => unknown)(call, callback);
    callback({ code: grpc.status.INVALID_ARGUMENT, details: refusal(why) });
  };
}

// grpc-js hands each decoded message of a bidi stream to the handler through the stream's push(): the
// first that could not be decoded ends the stream instead, and nothing after it reaches the handler.
function refusingMalformedMessages(refusal: (why: string) => string, handler: AnyHandler) {
  return (call: grpc.ServerDuplexStream<object, object>) => {
    const push = call.push.bind(call);
    let refused = false;
    call.push = (message: unknown) => {
      if (refused) return false;
      const why = malformedOf(message);
      if (why === undefined) return push(message);
      refused = true;
      endStream(call, grpc.status.INVALID_ARGUMENT, refusal(why));
      return false;
    };
    return (handler as (c: typeof call) => unknown)(call);
  };
}
