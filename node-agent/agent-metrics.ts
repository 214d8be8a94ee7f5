import { LATENCY_BUCKETS, Metrics, setAll, setTotals } from '../common/metrics';
import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';
import type { FrozenMac } from './state/duplicate-detector';

// The agent's state, read when metrics are scraped.
export interface AgentGauges {
  statuses: ProgrammingStatus[];
  members: Record<string, number>;
  queuedBroadcasts: number;
  accepted: { applied: number; refuted: number };
  records: number;
  frozen: FrozenMac[];
  probes: { probesSent: number; repliesReceived: number; watched: number };
  doubts: { told: number; taken: number; refused: number };
  sweep: { pinged: number; unanswered: number };
  // The server's replicas (--server) and the one the agent's stream is up to.
  server: { addresses: string[]; connected: string | undefined };
}

// What an operator needs to see of one agent: is the kernel programmed as desired, how fast do
// changes arrive, what does the kernel refuse, how healthy is gossip. Counts kept since start are
// counters (`_total`); what is true now is a gauge.
export class AgentMetrics {
  readonly metrics = new Metrics('agent');
  private readonly m = this.metrics;
  readonly desired = this.m.gauge(
    'vxgossip_fdb_desired_entries',
    'Entries (FDB, neighbours, routes) this host should program, per VNI',
    ['vni'],
  );
  readonly programmed = this.m.gauge('vxgossip_fdb_programmed_entries', 'Entries programmed in the kernel, per VNI', [
    'vni',
  ]);
  readonly vniReady = this.m.gauge(
    'vxgossip_vni_ready',
    '1 when the VNI is realised on this host (devices up), 0 when it cannot be (the reason is in /readyz and ctl status)',
    ['vni'],
  );
  readonly written = this.m.counter(
    'vxgossip_kernel_changes_total',
    'Kernel entries written by reconcile passes, by kind (add|remove)',
    ['kind'],
  );
  readonly repairs = this.m.counter(
    'vxgossip_reconcile_repairs_total',
    'Passes triggered by a kernel change to what we own (an entry deleted out of band)',
  );
  readonly bpfRepairs = this.m.counter(
    'vxgossip_bpf_repairs_total',
    'BPF map entries (entry) and program attachments (attachment) found changed out of band and rewritten, by a pass or the periodic check',
    ['kind'],
  );
  readonly netlinkErrors = this.m.counter('vxgossip_netlink_errors_total', 'Requests the kernel refused, by errno', [
    'errno',
  ]);
  readonly convergence = this.m.histogram(
    'vxgossip_convergence_latency_seconds',
    'From a remote endpoint record being issued by its owner to its entry programmed here',
    [],
    LATENCY_BUCKETS,
  );
  readonly members = this.m.gauge(
    'vxgossip_gossip_members',
    'Hosts in the cluster by state as this host sees them (alive|suspect|agent-down|dead|left): agent-down still forwards, dead is gone',
    ['state'],
  );
  readonly queueDepth = this.m.gauge('vxgossip_gossip_broadcast_queue_depth', 'Broadcasts waiting to be sent');
  readonly dropped = this.m.counter(
    'vxgossip_gossip_dropped_total',
    'Gossip refused since start (records, certificates, configurations), by reason',
    ['reason'],
  );
  readonly accepted = this.m.counter(
    'vxgossip_gossip_records_accepted_total',
    'Records from peers taken since start, by outcome (applied|refuted: a version of our own we did not issue)',
    ['outcome'],
  );
  // Not vxgossip_records: the server's count of replicated records is another thing.
  readonly records = this.m.gauge('vxgossip_gossip_records', 'Live records this host holds, own and remote');
  readonly frozenMacs = this.m.gauge(
    'vxgossip_fdb_frozen_macs',
    'Local MACs this host froze as duplicates (they kept moving between hosts), per VNI; ctl fdb dup lists them',
    ['vni'],
  );
  readonly conflicts = this.m.gauge(
    'vxgossip_kernel_conflicts',
    'Entries not programmed because the kernel holds one for the address that is not ours (an operator route or neighbour), by kind (route|neigh)',
    ['kind'],
  );
  readonly vtepProbes = this.m.counter(
    'vxgossip_vtep_probes_total',
    "ICMP echo probes of peer VTEPs since start: sent, and replies matched (the sweep's pings included)",
    ['kind'],
  );
  readonly vtepSweep = this.m.counter(
    'vxgossip_vtep_sweep_pings_total',
    "The sweep's pings of peer VTEPs since start: pinged, and unanswered (each started a fast check of that VTEP)",
    ['result'],
  );
  readonly vtepsWatched = this.m.gauge(
    'vxgossip_vteps_watched',
    'Peer VTEPs being probed now (gossip suspects them, declared their agents failed, or could not reach them directly)',
  );
  readonly pathDoubts = this.m.counter(
    'vxgossip_path_doubts_total',
    'Doubts about a peer VTEP since start: told (our probes went unanswered, peers told), taken (from a peer: probing it too), refused (over the rate limit)',
    ['kind'],
  );
  readonly serverConnected = this.m.gauge(
    'vxgossip_server_connected',
    "1 for the server replica (an address of --server) this agent's stream is up to, 0 for the others",
    ['server'],
  );
  readonly duplicateFreezes = this.m.counter(
    'vxgossip_fdb_duplicate_freezes_total',
    'MACs frozen as duplicates by this host since start',
  );

  constructor() {
    // Every kind exposed from the start, so a rate() has a series before the first write.
    for (const kind of ['add', 'remove']) this.written.inc({ kind }, 0);
    for (const kind of ['entry', 'attachment']) this.bpfRepairs.inc({ kind }, 0);
  }

  set(g: AgentGauges): void {
    setAll(
      this.desired,
      'vni',
      g.statuses.map((s) => [s.vni ?? 0, s.desired ?? 0]),
    );
    setAll(
      this.programmed,
      'vni',
      g.statuses.map((s) => [s.vni ?? 0, s.programmed ?? 0]),
    );
    setAll(
      this.vniReady,
      'vni',
      g.statuses.map((s) => [s.vni ?? 0, s.devicesReady ? 1 : 0]),
    );
    setAll(this.members, 'state', Object.entries(g.members));
    this.queueDepth.set(g.queuedBroadcasts);
    setTotals(this.accepted, 'outcome', Object.entries(g.accepted));
    this.records.set(g.records);
    const vnis = g.statuses.map((s) => String(s.vni ?? 0));
    setAll(
      this.frozenMacs,
      'vni',
      countBy(
        g.frozen.map((f) => String(f.vni)),
        vnis,
      ),
    );
    setTotals(this.vtepProbes, 'kind', [
      ['sent', g.probes.probesSent],
      ['replies', g.probes.repliesReceived],
    ]);
    this.vtepsWatched.set(g.probes.watched);
    setTotals(this.pathDoubts, 'kind', Object.entries(g.doubts));
    setTotals(this.vtepSweep, 'result', Object.entries(g.sweep));
    const kinds = g.statuses.flatMap((s) => s.conflicts ?? []).map((c) => c.kind ?? '');
    setAll(this.conflicts, 'kind', countBy(kinds, ['route', 'neigh']));
    setAll(
      this.serverConnected,
      'server',
      g.server.addresses.map((a) => [a, a === g.server.connected ? 1 : 0]),
    );
  }
}

// How many of each value, the given ones counted even when absent (a series at 0 rather than none).
function countBy(values: string[], always: string[] = []): Map<string, number> {
  const counts = new Map(always.map((k) => [k, 0]));
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
