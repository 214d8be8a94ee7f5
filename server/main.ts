import * as fs from 'node:fs';
import { UsageError, silenceIpServerNameWarning } from '../common/cli';
import { createLogger, logSettingsOf, type Logger, type RootLogger } from '../common/log';
import { configUsage, loadDaemonConfig, withOrigin, withOriginOf, type DaemonConfig } from '../common/daemon-config';
import { ConfigError } from '../common/config-file';
import { reloadOnSignal } from '../common/config-reload';
import { tellSystemd } from '../common/sd-notify';
import { maxRecordsPerOwnerOf, parseDuration, parseHostPort } from '../common/validation';
import { DEFAULT_MAX_RECORDS_PER_OWNER } from '../common/fdb-state/record';
import { startGrpcServer } from './grpc-server';
import { serveHealth } from '../common/health-http';
import type { Metrics } from '../common/metrics';
import { openClusterPki } from './trust/cluster-pki';
import { Database } from './database';
import { openEtcdStorage, openLevelStorage, type ServerStorage, type StorageHealth } from './storage';
import { parseEtcdEndpoints } from './etcd/etcd-client';

const OPTIONS = {
  listen: { type: 'string', default: '127.0.0.1:50051' },
  'data-dir': { type: 'string' },
  store: { type: 'string', default: 'level' },
  'etcd-endpoints': { type: 'string' },
  'etcd-ca': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  'etcd-prefix': { type: 'string', default: '/vxgossip/' },
  metrics: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  'tls-san': { type: 'string' },
  'node-cert-ttl': { type: 'string' },
  'max-records-per-owner': { type: 'string' },
  'token-file': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'repair-database': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const CONFIG = {
  name: 'server',
  envPrefix: 'VXGOSSIP_SERVER_',
  options: OPTIONS,
  commandLineOnly: ['help', 'repair-database'],
} as const;

// What SIGHUP changes without a restart: the rest is bound into listeners, the PKI and the stores.
const LIVE = ['log-level', 'log-format'] as const;

let loaded: DaemonConfig<typeof OPTIONS> | undefined;

const USAGE = `Usage: server [--config FILE] [--listen HOST:PORT] --data-dir DIR [--metrics HOST:PORT] [--tls-san NAME,...]
              [--store level|etcd] [--etcd-endpoints URL,...] [--etcd-ca FILE] [--etcd-cert FILE --etcd-key FILE]
              [--etcd-prefix PREFIX]
              [--tls-cert FILE --tls-key FILE] [--tls-client-ca FILE] [--token-file FILE]
              [--node-cert-ttl DURATION] [--max-records-per-owner N] [--log-level debug|info|warn|error]
              [--log-format json|text]
       server --data-dir DIR --repair-database

The vxgossip controller: owns the VNI configuration (durable in DIR), signs it and pushes it to every
node-agent, enrols hosts, and serves the vxgossip.v1 gRPC API, grpc.health.v1 and server reflection,
always over TLS. At first start it makes the cluster's CA (DIR/pki/ca.key, 0600), the key it signs the
configuration with, the gossip key, and an operator credential for ctl (DIR/operator: ctl --credentials).
When a database write fails the server refuses writes (UNAVAILABLE) and reports NOT_SERVING until it
has reopened the database; if that fails for 30 s it exits 1 for its supervisor to restart it.

  --listen     address to serve gRPC on (default 127.0.0.1:50051; port 0 picks a free one)
  --data-dir   directory of the database and the cluster's keys (created if missing)
  --store      where the state lives: level (default: one server, its database in DIR) or etcd (several
               replicas side by side on one etcd cluster; any of them serves every RPC)
  --etcd-endpoints  the etcd cluster's client URLs, http(s)://HOST:PORT,... (with --store etcd)
  --etcd-ca, --etcd-cert, --etcd-key  the CA of etcd's certificate, and this server's client certificate
               and key, for https:// endpoints
  --etcd-prefix  every key under this prefix (default /vxgossip/), so clusters can share one etcd
  --metrics    serve Prometheus metrics at http://HOST:PORT/metrics, liveness at /healthz and
               readiness at /readyz (503 naming the reason while the database is being reopened)
  --tls-san    more names or addresses clients reach this server by (its own addresses, hostname
               and localhost are always in its certificate)
  --tls-cert, --tls-key   serve this certificate (CN=server:NAME) from your own CA instead
  --tls-client-ca         also accept node and operator certificates from this CA
  --token-file FILE       operators may authenticate with this bearer token instead of a certificate
  --node-cert-ttl         lifetime of node certificates (default 30d; agents renew at two thirds)
  --max-records-per-owner  records one agent may replicate (default ${DEFAULT_MAX_RECORDS_PER_OWNER}; the same as every agent's)
  --log-level  default info
  --log-format json (default: a JSON object per line on stderr) or text (time level msg key=value)
  --repair-database  rebuild a corrupt database in DIR from what LevelDB can still read (what it cannot
               is lost: back DIR up first), then exit; refused while a server uses DIR

${configUsage(CONFIG, LIVE)}
Under systemd (Type=notify) it sends READY=1 once it serves gRPC, and STOPPING=1 on SIGTERM.`;

const DAY_MS = 24 * 3600_000;

function readText(flag: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as Error).message}`);
  }
}

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

// Fail-stop with level: a database that cannot be reopened after a failed write ends the process, for
// its supervisor to start it again. etcd is waited for instead: the replica reports NOT_SERVING.
async function openStorage(values: DaemonConfig<typeof OPTIONS>['values'], log: Logger): Promise<ServerStorage> {
  const maxRecordsPerOwner = maxRecordsPerOwnerOf(values['max-records-per-owner']);
  const etcdFlags = ['etcd-endpoints', 'etcd-ca', 'etcd-cert', 'etcd-key'] as const;
  if (values.store === 'level') {
    const given = etcdFlags.find((flag) => values[flag] !== undefined);
    if (given) throw new UsageError(`--${given} needs --store etcd`);
    return openLevelStorage(values['data-dir']!, log, maxRecordsPerOwner, (err) => {
      log.error('exiting for the supervisor to restart the server', { error: err.message });
      process.exit(1);
    });
  }
  if (values.store !== 'etcd') throw new UsageError(`--store ${values.store}: level or etcd`);
  if (!values['etcd-endpoints']) throw new UsageError('--store etcd needs --etcd-endpoints URL,...');
  const prefix = values['etcd-prefix'];
  if (!prefix.startsWith('/') || !prefix.endsWith('/') || prefix.length > 128)
    throw new UsageError(`--etcd-prefix ${prefix}: must start and end with / (at most 128 characters)`);
  fs.mkdirSync(values['data-dir']!, { recursive: true });
  return openEtcdStorage(
    {
      endpoints: parseEtcdEndpoints(values['etcd-endpoints']),
      caFile: values['etcd-ca'],
      certFile: values['etcd-cert'],
      keyFile: values['etcd-key'],
      prefix,
      maxRecordsPerOwner,
    },
    log,
  );
}

// /metrics, /healthz and /readyz (ready while the database accepts writes) at --metrics HOST:PORT.
async function serveMetrics(at: string, metrics: Metrics, db: StorageHealth, log: Logger): Promise<void> {
  const { host, port } = parseHostPort('--metrics', at, undefined, 0);
  const readiness = () => {
    const { serving, reason } = db.health();
    return { ready: serving, checks: { database: reason } };
  };
  const served = await serveHealth(metrics, host, port, readiness).catch((err: Error) => {
    throw new Error(`cannot serve metrics on ${at}: ${err.message}`);
  });
  log.info('metrics served', {
    address: `http://${served.address}/metrics`,
    health: `http://${served.address}/healthz`,
    readiness: `http://${served.address}/readyz`,
  });
}

async function main(argv: string[]): Promise<void> {
  loaded = loadDaemonConfig(CONFIG, argv, process.env);
  const { values } = loaded;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (!values['data-dir']) throw new UsageError('--data-dir is required');
  parseHostPort('--listen', values.listen, undefined, 0);
  maxRecordsPerOwnerOf(values['max-records-per-owner']);
  const log = createLogger({ component: 'server', ...logSettingsOf(values) });
  reloadOnHangup(argv, values, log);

  if (values['repair-database']) {
    await Database.repair(values['data-dir']);
    log.info('database repaired: start the server without --repair-database', { dataDir: values['data-dir'] });
    return;
  }
  const storage = await openStorage(values, log);
  const store = storage.vnis;
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key']))
    throw new UsageError('--tls-cert and --tls-key go together');
  const certPem = readText('--tls-cert', values['tls-cert']);
  const keyPem = readText('--tls-key', values['tls-key']);
  const certificateTtlMs = values['node-cert-ttl']
    ? parseDuration('--node-cert-ttl', values['node-cert-ttl'], 60_000, 365 * DAY_MS)
    : 30 * DAY_MS;
  const pki = await openClusterPki({
    dataDir: values['data-dir'],
    listenHost: values.listen.slice(0, values.listen.lastIndexOf(':')),
    sans: (values['tls-san'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    externalTls: certPem && keyPem ? { certPem, keyPem } : undefined,
    externalClientCaPem: readText('--tls-client-ca', values['tls-client-ca']),
    shared: storage.sharedPki ? storage.kv : undefined,
    log,
  });
  const token = values['token-file'] ? readToken(values['token-file']) : undefined;
  const server = await startGrpcServer({
    listen: values.listen,
    storage,
    log,
    pki,
    certificateTtlMs,
    token,
  }).catch((err: Error) => {
    throw new Error(`cannot listen on ${values.listen}: ${err.message}`);
  });
  if (values.metrics) await serveMetrics(values.metrics, server.metrics, storage.health, log);
  log.info('server ready', {
    address: server.address,
    dataDir: values['data-dir'],
    store: storage.description,
    caSha256: pki.ca.fingerprint,
    revision: store.currentRevision(),
    vnis: store.list().length,
  });

  tellSystemd('READY=1', log);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    tellSystemd('STOPPING=1', log);
    log.info('shutting down', { signal });
    await server.shutdown();
    await storage.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

// SIGHUP: the log's level and format from the file and variables read again.
function reloadOnHangup(argv: string[], values: DaemonConfig<typeof OPTIONS>['values'], log: RootLogger): void {
  let latest = loaded!;
  reloadOnSignal({
    current: values,
    load: () => (latest = loadDaemonConfig(CONFIG, argv, process.env)).values,
    live: LIVE,
    prepare: (next) => {
      const settings = withOriginOf(latest, () => logSettingsOf(next));
      return () => {
        log.reconfigure(settings);
        return {};
      };
    },
    log,
  });
}

// etcd members are usually dialled by address, over TLS (https://192.0.2.21:2379).
silenceIpServerNameWarning();
main(process.argv.slice(2)).catch((caught: Error) => {
  const err = loaded ? withOrigin(loaded, caught) : caught;
  if (err instanceof UsageError || err instanceof ConfigError || err.name === 'ValidationError') {
    process.stderr.write(`server: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`server: ${err.message}\n`);
  process.exit(1);
});
