import * as fs from 'node:fs';
import { UsageError, parseFlags } from '../common/cli';
import { createLogger, parseLevel } from '../common/log';
import { parseHostPort } from '../common/validation';
import { serverCredentials } from '../common/tls';
import { startGrpcServer } from './grpc-server';
import { VniStore } from './vni-store';

const USAGE = `Usage: server [--listen HOST:PORT] --data-dir DIR [--metrics HOST:PORT]
              [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--token-file FILE]
              [--log-level debug|info|warn|error]

The vxgossip controller: owns the VNI configuration (durable in DIR), pushes it to every node-agent
and serves the vxgossip.v1 gRPC API, grpc.health.v1 and server reflection.

  --listen     address to serve gRPC on (default 127.0.0.1:50051; port 0 picks a free one)
  --data-dir   directory of the level database (created if missing)
  --metrics    serve Prometheus metrics at http://HOST:PORT/metrics (off by default)
  --tls-cert, --tls-key   serve gRPC over TLS with this certificate and key (PEM)
  --tls-client-ca         demand client certificates signed by this CA (mutual TLS), from agents and ctl alike
  --token-file FILE       operators (ctl, API clients) must send this bearer token; agents are exempt
                          (they authenticate with TLS)
  --log-level  default info; logs are JSON lines on stderr`;

function readToken(file: string): string {
  let token: string;
  try {
    token = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`--token-file ${file}: ${(err as Error).message}`);
  }
  if (token.length < 16) throw new UsageError(`--token-file ${file}: the token must be at least 16 characters`);
  return token;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:50051' },
      'data-dir': { type: 'string' },
      metrics: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-client-ca': { type: 'string' },
      'token-file': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (!values['data-dir']) throw new UsageError('--data-dir is required');
  parseHostPort('--listen', values.listen, undefined, 0);
  const log = createLogger({ component: 'server', level: parseLevel(values['log-level']) });

  fs.mkdirSync(values['data-dir'], { recursive: true });
  let store: VniStore;
  try {
    store = await VniStore.open(values['data-dir']);
  } catch (err) {
    throw new Error(
      `cannot open the database in ${values['data-dir']}: ${(err as Error).message} (is another server using it?)`,
    );
  }
  let credentials;
  try {
    credentials = serverCredentials({
      cert: values['tls-cert'],
      key: values['tls-key'],
      clientCa: values['tls-client-ca'],
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const token = values['token-file'] ? readToken(values['token-file']) : undefined;
  const server = await startGrpcServer({ listen: values.listen, store, log, credentials, token }).catch(
    (err: Error) => {
      throw new Error(`cannot listen on ${values.listen}: ${err.message}`);
    },
  );
  const metricsAt = values.metrics ? parseHostPort('--metrics', values.metrics, undefined, 0) : undefined;
  const metricsServer = metricsAt ? await server.metrics.serve(metricsAt.host, metricsAt.port) : undefined;
  if (metricsServer) log.info('metrics served', { address: `http://${metricsServer.address}/metrics` });
  log.info('server ready', {
    address: server.address,
    dataDir: values['data-dir'],
    revision: store.currentRevision(),
    vnis: store.list().length,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    await server.shutdown();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: Error) => {
  if (err instanceof UsageError || err.name === 'ValidationError') {
    process.stderr.write(`server: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`server: ${err.message}\n`);
  process.exit(1);
});
