import { LATENCY_BUCKETS, Registry } from '../common/metrics';
import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';

// The agent's state, read when metrics are scraped.
export interface AgentGauges {
  statuses: ProgrammingStatus[];
  members: Record<string, number>;
  queuedBroadcasts: number;
  accepted: { applied: number; refuted: number };
  records: number;
  duplicatesFrozen: number;
  probes: { probesSent: number; repliesReceived: number; watched: number };
  doubts: { told: number; taken: number; refused: number };
  sweep: { pinged: number; unanswered: number };
}

// What an operator needs to see of one agent: is the kernel programmed as desired, how fast do
// changes arrive, what does the kernel refuse, how healthy is gossip.
export class AgentMetrics {
  readonly registry = new Registry();
  readonly desired = this.registry.gauge(
    'vxgossip_fdb_desired_entries',
    'Entries (FDB, neighbours, routes) this host should program, per VNI',
  );
  readonly programmed = this.registry.gauge(
    'vxgossip_fdb_programmed_entries',
    'Entries programmed in the kernel, per VNI',
  );
  readonly written = this.registry.counter(
    'vxgossip_kernel_changes_total',
    'Kernel entries written by reconcile passes, by kind (add|remove)',
  );
  readonly repairs = this.registry.counter(
    'vxgossip_reconcile_repairs_total',
    'Passes triggered by a kernel change to what we own (an entry deleted out of band)',
  );
  readonly bpfRepairs = this.registry.counter(
    'vxgossip_bpf_repairs_total',
    'BPF map entries (entry) and program attachments (attachment) found changed out of band and rewritten, by a pass or the periodic check',
  );
  readonly netlinkErrors = this.registry.counter(
    'vxgossip_netlink_errors_total',
    'Requests the kernel refused, by errno',
  );
  readonly convergence = this.registry.histogram(
    'vxgossip_convergence_latency_seconds',
    'From a remote endpoint record being issued by its owner to its entry programmed here',
    LATENCY_BUCKETS,
  );
  readonly members = this.registry.gauge(
    'vxgossip_gossip_members',
    'Hosts in the cluster by state as this host sees them (alive|suspect|agent-down|dead|left): agent-down still forwards, dead is gone',
  );
  readonly queueDepth = this.registry.gauge('vxgossip_gossip_broadcast_queue_depth', 'Broadcasts waiting to be sent');
  readonly dropped = this.registry.counter(
    'vxgossip_gossip_dropped_total',
    'Gossip refused since start (records, certificates, configurations), by reason',
  );
  readonly accepted = this.registry.gauge(
    'vxgossip_gossip_records_accepted',
    'Records from peers taken since start, by outcome (applied|refuted: a version of our own we did not issue)',
  );
  readonly records = this.registry.gauge('vxgossip_records', 'Live records held, own and remote');
  readonly duplicatesFrozen = this.registry.gauge(
    'vxgossip_fdb_duplicates_frozen',
    'Local MACs this host froze as duplicates (they kept moving between hosts)',
  );
  readonly conflicts = this.registry.gauge(
    'vxgossip_kernel_conflicts',
    'Entries not programmed because the kernel holds one for the address that is not ours (an operator route or neighbour), by kind (route|neigh)',
  );
  readonly vtepProbes = this.registry.gauge(
    'vxgossip_vtep_probes',
    "ICMP echo probes of peer VTEPs since start: sent, and replies matched (the sweep's pings included)",
  );
  readonly vtepSweep = this.registry.gauge(
    'vxgossip_vtep_sweep',
    "The sweep's pings of peer VTEPs since start: pinged, and unanswered (each started a fast check of that VTEP)",
  );
  readonly vtepsWatched = this.registry.gauge(
    'vxgossip_vteps_watched',
    'Peer VTEPs being probed now (gossip suspects them, declared their agents failed, or could not reach them directly)',
  );
  readonly pathDoubts = this.registry.gauge(
    'vxgossip_path_doubts',
    'Doubts about a peer VTEP since start: told (our probes went unanswered, peers told), taken (from a peer: probing it too), refused (over the rate limit)',
  );
  readonly duplicateFreezes = this.registry.counter(
    'vxgossip_fdb_duplicate_freezes_total',
    'MACs frozen as duplicates by this host since start',
  );

  set(g: AgentGauges): void {
    this.desired.reset();
    this.programmed.reset();
    for (const s of g.statuses) {
      this.desired.set({ vni: s.vni ?? 0 }, s.desired ?? 0);
      this.programmed.set({ vni: s.vni ?? 0 }, s.programmed ?? 0);
    }
    for (const [state, n] of Object.entries(g.members)) this.members.set({ state }, n);
    this.queueDepth.set({}, g.queuedBroadcasts);
    for (const [outcome, n] of Object.entries(g.accepted)) this.accepted.set({ outcome }, n);
    this.records.set({}, g.records);
    this.duplicatesFrozen.set({}, g.duplicatesFrozen);
    this.vtepProbes.set({ kind: 'sent' }, g.probes.probesSent);
    this.vtepProbes.set({ kind: 'replies' }, g.probes.repliesReceived);
    this.vtepsWatched.set({}, g.probes.watched);
    for (const [kind, n] of Object.entries(g.doubts)) this.pathDoubts.set({ kind }, n);
    for (const [result, n] of Object.entries(g.sweep)) this.vtepSweep.set({ result }, n);
    const conflicts = new Map([
      ['route', 0],
      ['neigh', 0],
    ]);
    for (const c of g.statuses.flatMap((s) => s.conflicts ?? []))
      conflicts.set(c.kind ?? '', (conflicts.get(c.kind ?? '') ?? 0) + 1);
    for (const [kind, n] of conflicts) this.conflicts.set({ kind }, n);
  }
}
