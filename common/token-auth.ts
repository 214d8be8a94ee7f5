import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';

// Methods that do not take the operator token: agents authenticate with (mutual) TLS, and health
// checks and reflection are for load balancers and tooling.
const EXEMPT = ['/vxgossip.v1.AgentService/', '/grpc.health.v1.Health/', '/grpc.reflection.'];

// Every other call must carry `authorization: Bearer <token>`; anything else is UNAUTHENTICATED.
export function tokenInterceptor(token: string): grpc.ServerInterceptor {
  const expected = Buffer.from(`Bearer ${token}`);
  const valid = (values: grpc.MetadataValue[]) =>
    values.some((v) => {
      const got = Buffer.from(String(v));
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (EXEMPT.some((p) => method.path.startsWith(p)) || valid(metadata.get('authorization'))) {
              nextMetadata(metadata);
              return;
            }
            call.sendStatus({
              code: grpc.status.UNAUTHENTICATED,
              details: 'a valid bearer token is required: give ctl --token-file FILE or set VXGOSSIP_TOKEN',
            });
          },
        });
      },
    });
}

// The client side: the token on every call.
export function tokenClientInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
