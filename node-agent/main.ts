import * as fs from 'node:fs';
import { Keyring } from 'memberlist-ts';
import { UsageError, silenceIpServerNameWarning } from '../common/cli';
import { serverAddress } from '../common/grpc-client';
import { parseServerList } from '../common/server-list';
import { Logger, createLogger, logSettingsOf } from '../common/log';
import { checkIp, checkNodeName, maxRecordsPerOwnerOf, parseDuration, parseHostPort } from '../common/validation';
import { loadDaemonConfig, withOrigin, type DaemonConfig } from '../common/daemon-config';
import { ConfigError } from '../common/config-file';
import { holdSignalDuringStart } from '../common/config-reload';
import { tellSystemd } from '../common/sd-notify';
import { Agent } from './agent';
import { AGENT_CONFIG, type AgentValues, type OPTIONS } from './agent-flags';
import { GOSSIP_PORT, USAGE } from './agent-usage';
import { reloadAgentOnHangup } from './agent-reload';
import { VtepProber } from './liveness/vtep-prober';
import { livenessOptions } from './liveness/liveness-flags';
import { AgentMetrics } from './agent-metrics';
import { serveHealth } from '../common/health-http';
import { KeyringCommands } from './commands/keyring-commands';
import { duplicateOptions } from './state/duplicate-flags';
import { loadKeyring } from './gossip/keyring-file';
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
import type { PluginServer } from './docker/plugin-server';
import { attachPointOf } from './kernel/vni-devices';

let loaded: DaemonConfig<typeof OPTIONS> | undefined;

// As serf does: SIGINT leaves the cluster gracefully (peers withdraw our entries at once); SIGTERM
// stops without leaving, for a restart: peers keep forwarding, and devices and FDB stay in place,
// so the restarted agent picks everything up without a dropped packet.
function stopOnSignals(agent: Agent, rt: Rtnetlink, log: Logger, docker: PluginServer | undefined): void {
  let stopping = false;
  const stop = async (signal: string, leave: boolean) => {
    if (stopping) return;
    stopping = true;
    tellSystemd('STOPPING=1', log);
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

type Flags = AgentValues;

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
  host: { name: string; vtep: string; servers: string[]; dataDir: string; log: Logger },
): Promise<NodeIdentity> {
  const { name, vtep, servers, dataDir, log } = host;
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
    log.info('enrolling with the server', { server: servers.join(',') });
    const enrolled = await enrol({ servers, token, name, vteps: [vtep] }).catch((err: Error) => {
      throw new Error(`enrolment with ${servers.join(',')} failed: ${err.message}`);
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
  loaded = loadDaemonConfig(AGENT_CONFIG, argv, process.env);
  const { values } = loaded;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  for (const flag of ['name', 'vtep', 'data-dir'] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required`);
  }
  const name = checkNodeName('--name', values.name!);
  const vtep = checkIp('--vtep', values.vtep!);
  const servers = parseServerList('--server', serverAddress(values.server));
  const bind = parseHostPort('--bind', values.bind ?? `0.0.0.0:${GOSSIP_PORT}`, GOSSIP_PORT, 0);
  const advertise = values.advertise ? parseHostPort('--advertise', values.advertise, bind.port) : undefined;
  const join = joinList(values.join);
  const root = createLogger({ component: 'node-agent', ...logSettingsOf(values) });
  const log = root.child({ node: name });
  const release = holdSignalDuringStart('SIGHUP', log);

  const duplicates = duplicateOptions(values);
  const maxRecordsPerOwner = maxRecordsPerOwnerOf(values['max-records-per-owner']);
  const departedRecordTtlMs = values['departed-record-ttl']
    ? parseDuration('--departed-record-ttl', values['departed-record-ttl'], 60_000, 30 * 24 * 3_600_000)
    : undefined;
  const { agentDownKeepMs, probing, sweep } = livenessOptions(values);
  const metricsAt = values.metrics ? parseHostPort('--metrics', values.metrics, undefined, 0) : undefined;
  const state = AgentState.open(values['data-dir']!, name);
  const identity = await identityOf(values, { name, vtep, servers, dataDir: state.dir, log });
  const gossipKeys = gossipKeyring(values, state.dir, log);
  const metrics = metricsAt ? new AgentMetrics() : undefined;
  const rt = Rtnetlink.open();
  const reach = await VtepProber.open({ log: log.child({ part: 'vtep-prober' }) }).catch((err: Error) => {
    throw new Error(`cannot open an ICMP socket to probe peers' VTEPs (needs CAP_NET_RAW): ${err.message}`);
  });
  const agent = new Agent({
    name,
    vtep,
    servers,
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
  if (metrics && metricsAt) await serveMetrics(metrics, metricsAt, agent, log);
  await agent.start();
  const docker = await dockerPlugin(values['docker-plugin-dir'], agent, { name, rt, state, log });
  stopOnSignals(agent, rt, log, docker);
  release();
  reloadAgentOnHangup({
    argv,
    config: loaded,
    log: root,
    agent,
    keyring: gossipKeys.keyring,
    keyringFile: gossipKeys.file,
  });
  // Ready for systemd once gossip is bound and the kernel holds what this host knows; waiting for
  // peers or the server would make an outage of theirs a failed start here.
  await agent.settle();
  tellSystemd('READY=1', log);
}

// /metrics, /healthz and /readyz (the agent's readiness) at --metrics HOST:PORT.
async function serveMetrics(
  metrics: AgentMetrics,
  at: { host: string; port: number },
  agent: Agent,
  log: Logger,
): Promise<void> {
  const served = await serveHealth(metrics.metrics, at.host, at.port, () => agent.readiness()).catch((err: Error) => {
    throw new Error(`cannot serve metrics on ${at.host}:${at.port}: ${err.message}`);
  });
  log.info('metrics served', {
    address: `http://${served.address}/metrics`,
    health: `http://${served.address}/healthz`,
    readiness: `http://${served.address}/readyz`,
  });
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
main(process.argv.slice(2)).catch((caught: Error) => {
  const err = loaded ? withOrigin(loaded, caught) : caught;
  const usage = err instanceof UsageError || err instanceof ConfigError || err.name === 'ValidationError';
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
