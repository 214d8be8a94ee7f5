import { stateName } from '../common/node-state';
import { type Counter, LATENCY_BUCKETS, type Metrics, setAll, setTotals } from '../common/metrics';
import { AUTH_REFUSALS } from './trust/authorization';
import type { AgentHub } from './agent-hub';
import type { RecordStore } from './record-store';
import type { VniConfigStore } from './vni-config-store';
import type { StorageHealth } from './storage';
import { observeRpcs } from './rpc';

// What the server's metrics are read from at a scrape (narrow, so a test can stand in for each).
export interface MetricSources {
  hub: Pick<AgentHub, 'nodes'>;
  replicas: Pick<RecordStore, 'size' | 'spoofed' | 'overLimit'>;
  store: Pick<VniConfigStore, 'list'>;
  storage: Pick<StorageHealth, 'health' | 'writeFailures'>;
}

// What operators watch: RPC latencies, agents, records, VNIs, the database.
export function serverMetrics(metrics: Metrics, { hub, replicas, store, storage }: MetricSources): void {
  const rpcLatency = metrics.histogram(
    'vxgossip_rpc_duration_seconds',
    'Unary RPC latency, by method and status code',
    ['method', 'code'],
    LATENCY_BUCKETS,
  );
  observeRpcs((method, code, seconds) => rpcLatency.observe({ method, code }, seconds));
  const agentsGauge = metrics.gauge('vxgossip_agents', 'Agents known to the server, by connection state', ['state']);
  // Not vxgossip_records: an agent's count of the records it holds is another thing.
  const recordsGauge = metrics.gauge(
    'vxgossip_replicated_records',
    'Records the agents replicated to the server (tombstones included)',
  );
  const refused = metrics.counter(
    'vxgossip_records_refused_total',
    'Record batches refused since start: an agent spoke for another node or VTEP (spoofed), or its records would pass --max-records-per-owner (owner-limit)',
    ['reason'],
  );
  const vnisGauge = metrics.gauge('vxgossip_vnis', 'VNIs configured');
  const nodesGauge = metrics.gauge(
    'vxgossip_nodes',
    'Nodes by state as the agents report them (alive|suspect|agent-down|dead|left): agent-down hosts still forward',
    ['state'],
  );
  const databaseGauge = metrics.gauge(
    'vxgossip_database_serving',
    '1 while the store (level or etcd) accepts writes; 0 from a failed write until level has been reopened, or while etcd is out of reach',
  );
  const writeFailures = metrics.counter(
    'vxgossip_database_write_failures_total',
    'Database writes that failed since start',
  );
  metrics.onCollect(() => {
    const nodes = hub.nodes();
    setAll(agentsGauge, 'state', [
      ['connected', nodes.filter((n) => n.connected).length],
      ['disconnected', nodes.filter((n) => !n.connected).length],
    ]);
    const byState = new Map(['alive', 'suspect', 'agent-down', 'dead', 'left'].map((s) => [s, 0]));
    for (const n of nodes) {
      const state = stateName(String(n.state));
      byState.set(state, (byState.get(state) ?? 0) + 1);
    }
    setAll(nodesGauge, 'state', byState);
    recordsGauge.set(replicas.size());
    setTotals(refused, 'reason', [
      ['spoofed', replicas.spoofed],
      ['owner-limit', replicas.overLimit],
    ]);
    vnisGauge.set(store.list().length);
    databaseGauge.set(storage.health().serving ? 1 : 0);
    writeFailures.reset();
    writeFailures.inc(storage.writeFailures);
  });
}

// Callers turned away, every reason exposed from the start.
export function authRefusalMetric(metrics: Metrics): Counter {
  const refused = metrics.counter(
    'vxgossip_auth_refused_total',
    'Callers turned away since start, by reason (no certificate, untrusted, wrong role, revoked, name mismatch, bad token)',
    ['reason'],
  );
  for (const reason of AUTH_REFUSALS) refused.inc({ reason }, 0);
  return refused;
}
