import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from '../common/log';
import { packageDefinition, v1 } from '../common/proto';
import { AgentHub } from './agent-hub';
import { agentService } from './agent-service';
import { nodeService } from './node-service';
import { vniService } from './vni-service';
import type { VniConfigStore } from './vni-config-store';
import type { ServerStorage, StorageHealth } from './storage';
import type { RecordStore } from './record-store';
import { FdbIndex } from './fdb-index';
import { EndpointIndex } from './endpoint-index';
import { endpointService } from './endpoint-service';
import { clusterService } from './cluster-service';
import { Metrics } from '../common/metrics';
import { authRefusalMetric, serverMetrics } from './server-metrics';
import { Revocations } from '../common/trust/revocations';
import { Authorizer, AuthRefusal, OptionalClientCertificates } from './trust/authorization';
import type { ClusterPki } from './trust/cluster-pki';
import { JoinTokens } from './trust/join-tokens';
import { NodeRegistry } from './trust/node-registry';
import { enrollmentService } from './enrollment-service';
import { refusingMalformed } from './malformed-requests';
import { BlockStore } from './ipam/block-store';
import { ipamService } from './ipam/ipam-service';
import type { DurableKv } from './durable-kv';

// The largest message the server decodes, on purpose rather than by default: agents send records in
// messages of at most 1,024 (a few hundred KB) and a membership report of 10,000 members is about
// 1 MB; anything larger is refused (RESOURCE_EXHAUSTED) before it costs memory.
const MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

// Agents ping every 10 s to notice a dead server; the server pings back to notice dead agents.
const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
};

export const SERVICE_NAMES = [
  'vxgossip.v1.VniService',
  'vxgossip.v1.NodeService',
  'vxgossip.v1.EndpointService',
  'vxgossip.v1.ClusterService',
  'vxgossip.v1.AgentService',
  'vxgossip.v1.EnrollmentService',
  'vxgossip.v1.IpamService',
];

export interface RunningServer {
  address: string;
  hub: AgentHub;
  // Prometheus metrics: RPC latencies, agents, records.
  metrics: Metrics;
  shutdown(): Promise<void>;
}

// Who may call what, with every refusal logged and counted by reason.
function authorization(metrics: Metrics, pki: ClusterPki, store: VniConfigStore, log: Logger, token?: string) {
  const refusedCounter = authRefusalMetric(metrics);
  const authLog = log.child({ part: 'auth' });
  const refused = (reason: AuthRefusal, path: string, message: string) => {
    refusedCounter.inc({ reason });
    authLog.warn('caller refused', { reason, method: path, details: message });
  };
  const authorizer = new Authorizer(pki.clients, () => new Revocations(store.revocations()), refused, token);
  return { authorizer, refused };
}

// grpc.health.v1 for the server and each service: SERVING once it listens, except while the store
// refuses writes (level: from a failed write until it has been reopened and reloaded; etcd: while it
// is out of reach or a watch on it is lost); NOT_SERVING once it shuts down.
function healthService(server: grpc.Server, db: StorageHealth) {
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  const set = (status: 'SERVING' | 'NOT_SERVING') => {
    for (const name of ['', ...SERVICE_NAMES]) health.setStatus(name, status);
  };
  const follow = () => set(db.health().serving ? 'SERVING' : 'NOT_SERVING');
  return {
    start() {
      follow();
      db.on('health', follow);
    },
    stop() {
      db.off('health', follow);
      set('NOT_SERVING');
    },
  };
}

// A deleted VNI's blocks go with it; a crash between the two is mended at the next start.
async function openBlocks(kv: DurableKv, store: VniConfigStore, log: Logger): Promise<BlockStore> {
  const blocks = await BlockStore.open(kv);
  await pruneBlocks(blocks, store, log);
  return blocks;
}

async function pruneBlocks(blocks: BlockStore, store: VniConfigStore, log: Logger): Promise<void> {
  try {
    const n = await blocks.prune(store.list(), store.currentRevision());
    if (n > 0) log.info('address blocks of deleted VNIs released', { blocks: n });
  } catch (err) {
    // Pruned again at the next change or start; a failed write makes the database reopen meanwhile.
    log.warn('cannot release the address blocks of deleted VNIs', { error: (err as Error).message });
  }
}

// The agents this server holds streams to, and with replicas those the others hold.
// A replica that stops serving lets its agents go, for them to reconnect to another replica.
function agentHub(storage: ServerStorage, pki: ClusterPki, log: Logger): AgentHub {
  const hub = new AgentHub(log.child({ part: 'agent-hub' }), pki.signer);
  if (!storage.directory) return hub;
  hub.join(storage.directory);
  storage.health.on('health', ({ serving }) => {
    if (!serving) hub.closeAll();
  });
  return hub;
}

// The FDB and endpoints as served, rebuilt from the records. A dead or departed node's entries are
// withdrawn from the served FDB, as every host withdraws them.
function servedViews(replicas: RecordStore, hub: AgentHub) {
  const live = (owner: string) => {
    const state = hub.gossipState(owner);
    return state !== 'NODE_STATE_DEAD' && state !== 'NODE_STATE_LEFT';
  };
  const views = { replicas, endpoints: new EndpointIndex(replicas), fdb: new FdbIndex(replicas, live) };
  hub.on('node', (name) => views.fdb.nodeStateChanged(name));
  return { views, live };
}

// Builds the gRPC server with every service, grpc.health.v1 and server reflection, and binds it.
export async function startGrpcServer(options: {
  listen: string;
  storage: ServerStorage;
  log: Logger;
  pki: ClusterPki;
  certificateTtlMs: number;
  // Operators may authenticate with this bearer token instead of a certificate.
  token?: string;
}): Promise<RunningServer> {
  const { storage, log, pki } = options;
  const { vnis: store, records: replicas } = storage;
  const hub = agentHub(storage, pki, log);
  const { views, live } = servedViews(replicas, hub);
  const metrics = new Metrics('server');
  serverMetrics(metrics, { hub, replicas, store, storage: storage.health });
  const { authorizer, refused } = authorization(metrics, pki, store, log, options.token);
  hub.setConfig(store.currentRevision(), store.list(), store.revocations());
  // Where the node registry, join tokens and address blocks are kept.
  const { kv } = storage;
  const blocks = await openBlocks(kv, store, log);
  const unsubscribe = store.onChange((revision, vnis, revocations) => {
    hub.setConfig(revision, vnis, revocations);
    void pruneBlocks(blocks, store, log);
  });
  const trust = {
    registry: await NodeRegistry.open(kv),
    keyring: pki.keyring,
    tokens: new JoinTokens(kv),
    replicas,
  };

  const server = new grpc.Server({ ...SERVER_OPTIONS, interceptors: [authorizer.interceptor()] });
  const proto = v1();
  // The underlay addresses the server knows: an endpoint may not take one, a group must be of their family.
  const vteps = () => [...hub.vteps(), ...trust.registry.vteps()];
  const add = (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) =>
    server.addService(...refusingMalformed(definition, handlers));
  add(proto.VniService.service, vniService(store, hub, log, vteps, views.endpoints));
  add(proto.NodeService.service, nodeService(hub, log, { store, replicas, registry: trust.registry }));
  add(proto.EndpointService.service, endpointService(views, hub, store, log, { live, vteps, blocks }));
  add(proto.IpamService.service, ipamService(blocks, store, authorizer, log.child({ part: 'ipam' })));
  add(
    proto.ClusterService.service,
    clusterService(hub, store, log, { ...trust, caFingerprint: pki.ca.fingerprint, enrolment: pki.enrolment }),
  );
  add(
    proto.AgentService.service,
    agentService(
      hub,
      replicas,
      { authorizer, refused: (reason, message) => refused(reason, '/vxgossip.v1.AgentService/Connect', message) },
      log.child({ part: 'agent-stream' }),
      storage.health,
    ),
  );
  add(
    proto.EnrollmentService.service,
    enrollmentService({ pki, ...trust, hub, store, authorizer, certificateTtlMs: options.certificateTtlMs, log }),
  );

  const health = healthService(server, storage.health);
  new ReflectionService(packageDefinition()).addToServer(server);

  const credentials = new OptionalClientCertificates(pki.caBundlePem, pki.tls.certChainPem, pki.tls.keyPem);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  health.start();

  return {
    address,
    hub,
    metrics,
    async shutdown() {
      health.stop();
      unsubscribe();
      hub.closeAll();
      await Promise.all([trust.registry.close(), blocks.close()]);
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
