import { Metrics } from '../../common/metrics';
import { AgentMetrics } from '../../node-agent/agent-metrics';
import { authRefusalMetric, serverMetrics } from '../../server/server-metrics';

// What an agent exposes, with a value in every series: two VNIs (one not realised), a frozen MAC.
export function sampleAgentMetrics(): AgentMetrics {
  const a = new AgentMetrics();
  a.set({
    statuses: [
      { vni: 42, desired: 12, programmed: 12, devicesReady: true, conflicts: [{ kind: 'route' }] },
      { vni: 43, desired: 2, programmed: 0, devicesReady: false, error: 'device vxlan43: File exists' },
    ],
    members: { alive: 3, suspect: 1 },
    queuedBroadcasts: 2,
    accepted: { applied: 7, refuted: 1 },
    records: 20,
    frozen: [{ vni: 42, mac: '02:00:00:00:00:01', sinceMs: 0 }],
    probes: { probesSent: 5, repliesReceived: 4, watched: 1 },
    doubts: { told: 1, taken: 2, refused: 0 },
    sweep: { pinged: 3, unanswered: 1 },
    server: { addresses: ['198.18.0.1:50051', '198.18.0.2:50051'], connected: '198.18.0.2:50051' },
  });
  a.convergence.observe(0.2);
  a.dropped.inc({ reason: 'owner-limit' });
  a.netlinkErrors.inc({ errno: 'EEXIST' });
  return a;
}

// What a server exposes, its sources standing in for the hub, the replicas and the store.
export function sampleServerMetrics(): Metrics {
  const metrics = new Metrics('server');
  const node = (connected: boolean, state: 'NODE_STATE_ALIVE' | 'NODE_STATE_AGENT_DOWN') => ({ connected, state });
  serverMetrics(metrics, {
    hub: { nodes: () => [node(true, 'NODE_STATE_ALIVE'), node(false, 'NODE_STATE_AGENT_DOWN')] },
    replicas: { size: () => 40, spoofed: 1, overLimit: 0 },
    store: { list: () => [] },
    storage: { health: () => ({ serving: true, reason: 'ok' }), writeFailures: 2 },
  });
  authRefusalMetric(metrics).inc({ reason: 'no-certificate' });
  return metrics;
}
