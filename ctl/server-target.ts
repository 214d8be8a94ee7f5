import { UsageError } from '../common/cli';

// --server as operators paste it: HOST:PORT, or a URL. https://HOST:PORT means the same server (it
// speaks only TLS); grpc-js would read a URL as a DNS name ("dns:https://…") and fail obscurely.
export function serverTarget(value: string): string {
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(value);
  if (!url) return value;
  const [, scheme, host, rest] = url;
  if (scheme.toLowerCase() !== 'https')
    throw new UsageError(
      `--server ${value}: the vxgossip server speaks gRPC over TLS only; give HOST:PORT (or https://HOST:PORT)`,
    );
  if (rest !== undefined && rest !== '/')
    throw new UsageError(`--server ${value}: give the server as https://HOST:PORT, without a path`);
  if (host === '') throw new UsageError(`--server ${value}: no host; give HOST:PORT`);
  return host;
}
