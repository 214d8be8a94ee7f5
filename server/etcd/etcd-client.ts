import * as fs from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { ExponentialBackoff, noop } from 'cockatiel';
import { UsageError } from '../../common/cli';

export interface EtcdClientOptions {
  endpoints: string[];
  // PEM files: the CA that signed etcd's certificate, and this replica's client certificate and key.
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

const MAX_ENDPOINTS = 16;
const CALL_DEADLINE_MS = 5_000;
// A replica cut off from etcd must notice it is back within seconds, not after grpc's default backoff
// (up to two minutes) or etcd3's for watches (30 s): it reports NOT_SERVING until then.
const MAX_RECONNECT_BACKOFF_MS = 2_000;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

// Parses --etcd-endpoints: one to 16 http(s)://HOST:PORT URLs, all of one scheme.
export function parseEtcdEndpoints(text: string): string[] {
  const endpoints = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (endpoints.length === 0) throw new UsageError('--etcd-endpoints needs at least one URL (http://HOST:2379)');
  if (endpoints.length > MAX_ENDPOINTS)
    throw new UsageError(`--etcd-endpoints: ${endpoints.length} URLs, at most ${MAX_ENDPOINTS}`);
  for (const endpoint of endpoints) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`--etcd-endpoints: ${endpoint} is not a URL such as http://198.18.0.1:2379`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.port || url.pathname !== '/')
      throw new UsageError(`--etcd-endpoints: ${endpoint} must be http(s)://HOST:PORT, nothing after the port`);
  }
  if (new Set(endpoints.map((e) => new URL(e).protocol)).size > 1)
    throw new UsageError('--etcd-endpoints: mix of http and https; etcd clients use one or the other');
  return endpoints;
}

function readPem(flag: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as Error).message}`);
  }
}

// etcd3 calls next() on what it is given, as on its own default (an ExponentialBackoff); its typings
// still name an older cockatiel's type for it.
const watchBackoff = () =>
  new ExponentialBackoff({ maxDelay: MAX_RECONNECT_BACKOFF_MS }) as unknown as NonNullable<
    IOptions['faultHandling']
  >['watchBackoff'];

// An etcd client for the stores. Calls are not retried by the client: a write whose reply was lost
// and that is sent again would find its own guard spent and be refused (ALREADY_EXISTS for a VNI it
// did create); the stores answer UNAVAILABLE "may or may not have been kept" instead, and callers
// retry knowing that. Each endpoint still has etcd3's circuit breaker, so a dead member is skipped.
export function connectEtcd(options: EtcdClientOptions): Etcd3 {
  const https = options.endpoints.every((e) => e.startsWith('https:'));
  if ((options.certFile === undefined) !== (options.keyFile === undefined))
    throw new UsageError('--etcd-cert and --etcd-key go together');
  if (!https && (options.caFile || options.certFile))
    throw new UsageError('--etcd-ca, --etcd-cert and --etcd-key need https:// endpoints');
  const rootCertificate = readPem('--etcd-ca', options.caFile);
  const certChain = readPem('--etcd-cert', options.certFile);
  const privateKey = readPem('--etcd-key', options.keyFile);
  if (https && !rootCertificate) throw new UsageError('https:// etcd endpoints need --etcd-ca');
  return new Etcd3({
    hosts: options.endpoints,
    credentials: rootCertificate ? { rootCertificate, certChain, privateKey } : undefined,
    faultHandling: { global: noop, watchBackoff: watchBackoff() },
    grpcOptions: {
      // Snapshots are read in pages (read-prefix.ts); a watch catching up after a disconnection may
      // still bring many revisions' events in one response: bounded, above grpc's 4 MiB.
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
    },
    dialTimeout: CALL_DEADLINE_MS,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
  });
}
