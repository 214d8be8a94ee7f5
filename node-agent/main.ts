import * as fs from 'node:fs';
import { Keyring } from 'memberlist-ts';
import { UsageError, parseFlags, silenceIpServerNameWarning } from '../common/cli';
import { serverAddress } from '../common/grpc-client';
import { Logger, createLogger, parseLevel } from '../common/log';
import {
  checkInteger,
  checkIp,
  checkNodeName,
  maxRecordsPerOwnerOf,
  parseDuration,
  parseHostPort,
} from '../common/validation';
import { DEFAULT_MAX_RECORDS_PER_OWNER } from '../common/fdb-state/record';
import { Agent, DEFAULT_AGENT_DOWN_KEEP_MS, DEFAULT_DEPARTED_RECORD_TTL_MS } from './agent';
import { VtepProber } from './liveness/vtep-prober';
import { livenessOptions } from './liveness/liveness-flags';
import { AgentMetrics } from './agent-metrics';
import { serveHealth } from '../common/health-http';
import { BPFFS_ROOT, DEFAULT_PIN_DIR } from './bpf/bpffs';
import { KeyringCommands } from './commands/keyring-commands';
import { DEFAULT_DUPLICATE_DETECTION, DuplicateDetectionOptions } from './state/duplicate-detector';
import { AgentState } from './agent-state';
import { MemberlistCluster } from './gossip/memberlist-cluster';
import { KernelLinkDriver } from './kernel/kernel-link-driver';
import { Rtnetlink } from './netlink';
import { parseJoinToken } from '../common/trust/join-token';
import { enrol } from './trust/enrolment';
import {
  StoredIdentity,
  keyringFileOf,
  loadEnrolledKeyring,
  loadIdentity,
  saveEnrolledKeyring,
  saveIdentity,
} from './trust/identity-files';
import { NodeIdentity } from './trust/node-identity';
import { DEFAULT_AGENT_SOCKET, DEFAULT_DELETE_QUEUE_DIR, PATH_MAX_BYTES } from '../common/cni/protocol';
import type { CniOptions } from './cni/cni-service';
import { serveDockerPlugin } from './docker/docker-plugin';
import { DEFAULT_PLUGIN_DIR, PluginServer } from './docker/plugin-server';
import { attachPointOf } from './kernel/vni-devices';

const GOSSIP_PORT = 7946;

const USAGE = `Usage: node-agent --name NAME --vtep IP --data-dir DIR [--server HOST:PORT]
                  [--join-token TOKEN | --tls-ca FILE --tls-cert FILE --tls-key FILE]
                  [--bind HOST:PORT] [--advertise HOST:PORT] [--join HOST:PORT,...]
                  [--encrypt-key BASE64 | --keyring-file FILE | --insecure-gossip] [--metrics HOST:PORT]
                  [--log-level LEVEL] [--max-records-per-owner N] [--departed-record-ttl DURATION]
                  [--agent-down-keep DURATION] [--gossip-probe-interval DURATION] [--gossip-probe-timeout DURATION]
                  [--vtep-sweep-interval DURATION|0] [--vtep-sweep-timeout DURATION]
                  [--bpffs DIR] [--bpf-pin-dir DIR] [--cni-socket PATH|off] [--cni-delete-queue DIR]
                  [--docker-plugin-dir DIR|off]
                  [--dup-max-moves N] [--dup-window DURATION] [--dup-freeze-time DURATION|permanent]

The vxgossip host agent: realises every VNI as vxlan<VNI> (a port of br<VNI>) over rtnetlink, learns
every remote endpoint by gossip and programs the kernel's FDB and neighbour tables. Needs CAP_NET_ADMIN.

  --name          this node's name, unique in the cluster (letters, digits, '.', '_', '-')
  --vtep          this host's underlay address; VXLAN packets leave from it
  --data-dir      where the agent keeps its identity (key 0600, certificate), the gossip keyring and
                  the last VNI configuration
  --server        the vxgossip server (default: $VXGOSSIP_SERVER, else 127.0.0.1:50051)
  --join-token    enrol this host (first start only): it makes its key and the server certifies it
                  for --name and --vtep; the token comes from ctl token create
  --tls-ca, --tls-cert, --tls-key   instead of enrolment: this host's certificate (CN=node:NAME, the
                  VTEP as an IP SAN) and key from your own CA, and the CAs of the server and peers
  --bind          gossip address, UDP and TCP (default 0.0.0.0:${GOSSIP_PORT})
  --advertise     gossip address peers should use (default: the VTEP, bind port)
  --join          peers to join, retried until one answers (comma-separated HOST:PORT)
  --encrypt-key   gossip encryption key, base64 of 16, 24 or 32 bytes (as serf keygen makes); by
                  default the keyring the server handed out at enrolment
  --keyring-file  a JSON array of base64 keys, the first one primary (serf's keyring format)
  --insecure-gossip   gossip in clear text (records stay signed); warns at every start
  --metrics       serve Prometheus metrics at http://HOST:PORT/metrics, liveness at /healthz and
                  readiness at /readyz (kernel reconciled, gossip synchronised, every VNI realised;
                  503 naming what is not) (off by default)
  --log-level     debug, info (default), warn or error; logs are JSON lines on stderr
  --agent-down-keep   how long a host whose agent is down keeps its entries here while its VTEP
                  answers ICMP echo (default ${DEFAULT_AGENT_DOWN_KEEP_MS / 60_000}m: an upgrade or a restart loop; a host whose VTEP
                  is silent for 0.5 s, or that leaves, is withdrawn at once). Peers' VTEPs must answer ICMP echo.
  --gossip-probe-interval, --gossip-probe-timeout   how often gossip probes one peer, and how long it
                  waits for the answer (default 1s and 500ms, memberlist's LAN profile)
  --vtep-sweep-interval, --vtep-sweep-timeout   every interval this host pings one peer's VTEP (ICMP
                  echo, answered by its kernel), the hosts taking turns so that each peer is pinged
                  once per interval; one unanswered within the timeout starts the fast check that
                  withdraws a gone host (default 500ms and 200ms: a gone host is withdrawn everywhere
                  within about 1.5 s, at 2 pings/s per host whatever the cluster's size; 0 turns the
                  sweep off, leaving gossip's probes to notice a gone host, about 2-5 s)
  --departed-record-ttl     how long the records of a host gossip has not had alive are kept
                  (default ${DEFAULT_DEPARTED_RECORD_TTL_MS / 3_600_000}h; they come back when it returns)
  --bpffs         where the BPF filesystem is (default ${BPFFS_ROOT}; mounted there if it is not),
                  and --bpf-pin-dir our pins inside it (default ${DEFAULT_PIN_DIR}): only once an
                  L3 VNI on the bpf datapath is realised here; the pins outlive the agent
  --cni-socket    where the vxgossip CNI plugin reaches this agent (default ${DEFAULT_AGENT_SOCKET}, mode
                  0600; 'off' serves none; a socket another live agent serves is left to it), and
                  --cni-delete-queue the deletions the plugin queued while the agent was down, done at
                  start (default ${DEFAULT_DELETE_QUEUE_DIR}); give the plugin the same in its config
  --docker-plugin-dir   where Docker finds this agent's network and IPAM drivers, vxgossip.sock
                  (default ${DEFAULT_PLUGIN_DIR}; off: not served)
  --max-records-per-owner   records (endpoints, memberships, tombstones) one host may announce and
                  this agent keeps of each peer (default ${DEFAULT_MAX_RECORDS_PER_OWNER}; the same on every agent and the server)

Duplicate MAC detection (EVPN's): a local MAC this host must take back from another host's claim
--dup-max-moves times within --dup-window is frozen: this host stops contesting it, every host and
the server show it frozen (ctl fdb dup list), until --dup-freeze-time passes or an operator runs
ctl fdb dup clear.
  --dup-max-moves     default ${DEFAULT_DUPLICATE_DETECTION.maxMoves} (2 to 1000)
  --dup-window        default ${DEFAULT_DUPLICATE_DETECTION.windowMs / 1000}s
  --dup-freeze-time   default ${Number(DEFAULT_DUPLICATE_DETECTION.freezeMs) / 1000}s; 'permanent' until cleared`;

function loadKeyring(key: string | undefined, file: string | undefined): Keyring | undefined {
  if (key && file) throw new UsageError('give --encrypt-key or --keyring-file, not both');
  if (key === undefined && file === undefined) return undefined;
  try {
    if (key) return Keyring.fromBase64([key]);
    if (file) {
      const keys = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string'))
        throw new Error('expected a non-empty JSON array of base64 strings');
      return Keyring.fromBase64(keys);
    }
  } catch (err) {
    throw new UsageError(`${key ? '--encrypt-key' : `--keyring-file ${file}`}: ${(err as Error).message}`);
  }
  return undefined;
}

const DAY_MS = 24 * 3600_000;

function duplicateOptions(maxMoves?: string, window?: string, freeze?: string): DuplicateDetectionOptions {
  const d = DEFAULT_DUPLICATE_DETECTION;
  return {
    maxMoves: maxMoves === undefined ? d.maxMoves : checkInteger('--dup-max-moves', Number(maxMoves), 2, 1000),
    windowMs: window === undefined ? d.windowMs : parseDuration('--dup-window', window, 1000, DAY_MS),
    freezeMs:
      freeze === undefined
        ? d.freezeMs
        : freeze === 'permanent'
          ? 'permanent'
          : parseDuration('--dup-freeze-time', freeze, 1000, DAY_MS),
  };
}

const FLAGS = {
  name: { type: 'string' },
  vtep: { type: 'string' },
  server: { type: 'string' },
  'data-dir': { type: 'string' },
  bind: { type: 'string' },
  advertise: { type: 'string' },
  join: { type: 'string' },
  'encrypt-key': { type: 'string' },
  'keyring-file': { type: 'string' },
  metrics: { type: 'string' },
  'join-token': { type: 'string' },
  'insecure-gossip': { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'log-level': { type: 'string' },
  'max-records-per-owner': { type: 'string' },
  'departed-record-ttl': { type: 'string' },
  'agent-down-keep': { type: 'string' },
  'gossip-probe-interval': { type: 'string' },
  'gossip-probe-timeout': { type: 'string' },
  'vtep-sweep-interval': { type: 'string' },
  'vtep-sweep-timeout': { type: 'string' },
  'dup-max-moves': { type: 'string' },
  'dup-window': { type: 'string' },
  'dup-freeze-time': { type: 'string' },
  bpffs: { type: 'string' },
  'bpf-pin-dir': { type: 'string' },
  'cni-socket': { type: 'string' },
  'cni-delete-queue': { type: 'string' },
  'docker-plugin-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

// As serf does: SIGINT leaves the cluster gracefully (peers withdraw our entries at once); SIGTERM
// stops without leaving, for a restart: peers keep forwarding, and devices and FDB stay in place,
// so the restarted agent picks everything up without a dropped packet.
function stopOnSignals(agent: Agent, rt: Rtnetlink, log: Logger, docker: PluginServer | undefined): void {
  let stopping = false;
  const stop = async (signal: string, leave: boolean) => {
    if (stopping) return;
    stopping = true;
    log.info(leave ? 'leaving the cluster; devices stay in place' : 'stopping for a restart; devices stay in place', {
      signal,
    });
    await docker?.close();
    await agent.stop(leave);
    rt.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM', false));
  process.on('SIGINT', () => void stop('SIGINT', true));
}

type Flags = ReturnType<typeof parseFlags<{ options: typeof FLAGS }>>['values'];

function readFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as Error).message}`);
  }
}

// Who this host is: its certificate from your CA, else the one enrolment left in the data dir, else
// it enrols now with the join token.
async function identityOf(
  values: Flags,
  host: { name: string; vtep: string; server: string; dataDir: string; log: Logger },
): Promise<NodeIdentity> {
  const { name, vtep, server, dataDir, log } = host;
  const external = values['tls-ca'] ?? values['tls-cert'] ?? values['tls-key'];
  let stored: StoredIdentity | undefined;
  if (external !== undefined) {
    if (!values['tls-ca'] || !values['tls-cert'] || !values['tls-key'])
      throw new UsageError('--tls-ca, --tls-cert and --tls-key go together');
    stored = {
      caPem: readFile('--tls-ca', values['tls-ca']),
      certificatePem: readFile('--tls-cert', values['tls-cert']),
      keyPem: readFile('--tls-key', values['tls-key']),
    };
  } else stored = loadIdentity(dataDir);
  if (!stored) {
    if (!values['join-token'])
      throw new UsageError(
        'this host has no identity yet: enrol it with --join-token TOKEN (from ctl token create), or give --tls-ca, --tls-cert and --tls-key from your own CA',
      );
    const token = parseJoinToken(values['join-token']);
    log.info('enrolling with the server', { server });
    const enrolled = await enrol({ server, token, name, vteps: [vtep] }).catch((err: Error) => {
      throw new Error(`enrolment with ${server} failed: ${err.message}`);
    });
    saveIdentity(dataDir, enrolled.identity);
    saveEnrolledKeyring(dataDir, enrolled.gossipKeys);
    stored = enrolled.identity;
  }
  try {
    const identity = new NodeIdentity(stored, name, vtep);
    log.info('identity', {
      certificate: identity.self.fingerprint.slice(0, 16),
      notAfter: new Date(identity.self.notAfterMs).toISOString(),
    });
    return identity;
  } catch (err) {
    throw new UsageError(`the certificate of this host does not fit it: ${(err as Error).message}`);
  }
}

// Gossip is encrypted unless the operator opts out by name: with the key given, else the keyring
// enrolment handed out.
function gossipKeyring(values: Flags, dataDir: string, log: Logger): { keyring?: Keyring; file?: string } {
  if (values['insecure-gossip']) {
    if (values['encrypt-key'] || values['keyring-file'])
      throw new UsageError('--insecure-gossip contradicts --encrypt-key and --keyring-file');
    log.warn('gossip is NOT encrypted (--insecure-gossip): anyone on the underlay can read it and join it');
    return {};
  }
  const given = loadKeyring(values['encrypt-key'], values['keyring-file']);
  if (given) return { keyring: given, file: values['keyring-file'] };
  const enrolled = loadEnrolledKeyring(dataDir);
  if (enrolled && enrolled.length > 0) return { keyring: Keyring.fromBase64(enrolled), file: keyringFileOf(dataDir) };
  throw new UsageError(
    'gossip is encrypted by default, and this host has no key: enrol it with --join-token, give --encrypt-key or --keyring-file, or opt out with --insecure-gossip',
  );
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags({ args: argv, options: FLAGS });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  for (const flag of ['name', 'vtep', 'data-dir'] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required`);
  }
  const name = checkNodeName('--name', values.name!);
  const vtep = checkIp('--vtep', values.vtep!);
  const server = serverAddress(values.server);
  parseHostPort('--server', server);
  const bind = parseHostPort('--bind', values.bind ?? `0.0.0.0:${GOSSIP_PORT}`, GOSSIP_PORT, 0);
  const advertise = values.advertise ? parseHostPort('--advertise', values.advertise, bind.port) : undefined;
  const join = joinList(values.join);
  const log = createLogger({ component: 'node-agent', level: parseLevel(values['log-level']) }).child({ node: name });

  const duplicates = duplicateOptions(values['dup-max-moves'], values['dup-window'], values['dup-freeze-time']);
  const maxRecordsPerOwner = maxRecordsPerOwnerOf(values['max-records-per-owner']);
  const departedRecordTtlMs = values['departed-record-ttl']
    ? parseDuration('--departed-record-ttl', values['departed-record-ttl'], 60_000, 30 * 24 * 3_600_000)
    : undefined;
  const { agentDownKeepMs, probing, sweep } = livenessOptions(values);
  const metricsAt = values.metrics ? parseHostPort('--metrics', values.metrics, undefined, 0) : undefined;
  const state = AgentState.open(values['data-dir']!, name);
  const identity = await identityOf(values, { name, vtep, server, dataDir: state.dir, log });
  const gossipKeys = gossipKeyring(values, state.dir, log);
  const metrics = metricsAt ? new AgentMetrics() : undefined;
  const rt = Rtnetlink.open();
  const reach = await VtepProber.open({ log: log.child({ part: 'vtep-prober' }) }).catch((err: Error) => {
    throw new Error(`cannot open an ICMP socket to probe peers' VTEPs (needs CAP_NET_RAW): ${err.message}`);
  });
  const agent = new Agent({
    name,
    vtep,
    server,
    state,
    rt,
    log,
    metrics,
    identity,
    duplicates,
    maxRecordsPerOwner,
    departedRecordTtlMs,
    reach,
    agentDownKeepMs,
    sweep,
    bpf: { bpffs: values.bpffs, pinDir: values['bpf-pin-dir'] },
    cni: cniOptions(values['cni-socket'], values['cni-delete-queue']),
    keys: new KeyringCommands(gossipKeys.keyring, gossipKeys.file, name),
    driver: new KernelLinkDriver(rt),
    gossip: {
      join,
      createCluster: (handlers) =>
        MemberlistCluster.create(
          {
            name,
            bindHost: bind.host,
            bindPort: bind.port,
            advertiseHost: advertise?.host ?? vtep,
            advertisePort: advertise?.port,
            keyring: gossipKeys.keyring,
            ...probing,
            log,
          },
          handlers,
        ).catch((err: Error) => {
          throw new Error(`cannot start gossip on ${bind.host}:${bind.port}: ${err.message}`);
        }),
    },
  });
  if (metrics && metricsAt) {
    const served = await serveHealth(metrics.metrics, metricsAt.host, metricsAt.port, () => agent.readiness()).catch(
      (err: Error) => {
        throw new Error(`cannot serve metrics on ${values.metrics}: ${err.message}`);
      },
    );
    log.info('metrics served', {
      address: `http://${served.address}/metrics`,
      health: `http://${served.address}/healthz`,
      readiness: `http://${served.address}/readyz`,
    });
  }
  await agent.start();
  const docker = await dockerPlugin(values['docker-plugin-dir'], agent, { name, rt, state, log });
  stopOnSignals(agent, rt, log, docker);
}

// The Docker drivers hand out addresses through the agent's address management.
async function dockerPlugin(
  dir: string | undefined,
  agent: Agent,
  host: { name: string; rt: Rtnetlink; state: AgentState; log: Logger },
): Promise<PluginServer | undefined> {
  const { name, rt, state, log } = host;
  return serveDockerPlugin(dir, {
    node: name,
    dataDir: state.dir,
    rt,
    vnis: () => state.vnis,
    attachPoint: (vni) => attachPointOf(state.vnis, vni),
    ipam: agent.ipam,
    settle: () => agent.settle(),
    log,
  });
}

silenceIpServerNameWarning();
main(process.argv.slice(2)).catch((err: Error) => {
  const usage = err instanceof UsageError || err.name === 'ValidationError';
  process.stderr.write(`node-agent: ${err.message}\n${usage ? USAGE + '\n' : ''}`);
  process.exit(usage ? 2 : 1);
});

function joinList(flag = ''): string[] {
  const join = flag
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const peer of join) parseHostPort('--join', peer, GOSSIP_PORT);
  return join;
}

function cniOptions(socket = DEFAULT_AGENT_SOCKET, deleteQueue = DEFAULT_DELETE_QUEUE_DIR): CniOptions | undefined {
  if (socket === 'off') return undefined;
  for (const [flag, value] of [
    ['--cni-socket', socket],
    ['--cni-delete-queue', deleteQueue],
  ] as const)
    if (!value.startsWith('/') || value.length > PATH_MAX_BYTES)
      throw new UsageError(`${flag} ${value}: give an absolute path of at most ${PATH_MAX_BYTES} bytes`);
  return { socket, deleteQueue };
}
