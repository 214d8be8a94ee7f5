import { recordToProto } from '../common/record-proto';
import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';
import type { AgentMetrics } from './agent-metrics';
import { agentCommandHandlers } from './commands/agent-commands';
import { CommandHandlers, dispatchCommand } from './commands/command-dispatch';
import { ConfigFollower } from './config-follower';
import type { GossipCluster, GossipHandlers } from './gossip/cluster';
import { PeerTable, metaCodec } from './gossip/peer-table';
import { RecordSync } from './gossip/record-sync';
import { EndpointAttacher } from './kernel/endpoint-attacher';
import { CniService } from './cni/cni-service';
import { KernelWatch } from './kernel/kernel-watch';
import { attachPointOf } from './kernel/vni-devices';
import { readKernelTruth } from './kernel/kernel-truth';
import { readiness } from './readiness';
import { kernelReconcileLoop } from './reconcile/kernel-reconcile-loop';
import { LocalRecordsSync } from './reconcile/local-records-step';
import type { ReconcileLoop } from './reconcile/reconcile-loop';
import { ServerLink } from './server-link';
import { DEFAULT_DUPLICATE_DETECTION, DuplicateDetector, DuplicateDetectionOptions } from './state/duplicate-detector';
import type { AgentOptions } from './agent-options';
import { LocalChangeOutbox } from './state/outbox';
import { RecordStore } from './state/record-store';
import { DepartedOwners } from './state/departed-owners';
import { HostLiveness } from './liveness/host-liveness';
import { PathDoubtSharing } from './liveness/path-doubt-sharing';
import { VtepSweep } from './liveness/vtep-sweep';
import { affectsRemoteView, desiredRemote } from './state/remote-view';
import { Revocations } from '../common/trust/revocations';
import { PeerCertificates } from './trust/peer-certificates';
import { DropCounter } from './trust/drop-reasons';
import { CertificateRenewal } from './trust/certificate-renewal';
import type { NodeIdentity } from './trust/node-identity';
import { openAgentIpam } from './ipam/agent-ipam';
import type { BlockAllocator } from './ipam/block-allocator';
import { GrpcBlockClaims } from './ipam/block-client';

export const AGENT_VERSION = '0.2.0';
// Out-of-band changes are also caught by notifications; this is the backstop.
const RESYNC_INTERVAL_MS = 30_000;
const ANTI_ENTROPY_INTERVAL_MS = 2_000;
const REAP_INTERVAL_MS = 60_000;
const RECONNECT_INTERVAL_MS = 5_000;
// Tombstones must outlast the longest partition we heal from without a full resync.
const TOMBSTONE_TTL_MS = 24 * 3600_000;
// A dead or departed owner's records are kept this long (they come back at once if it returns).
export const DEFAULT_DEPARTED_RECORD_TTL_MS = 24 * 3600_000;
// A host whose agent is down, while its VTEP answers, keeps its entries this long: an upgrade or a
// restart loop takes minutes; after half an hour its workloads may have gone without anyone saying so
// (newer moby reaps a failed node's hidden entries at 30 minutes too).
export const DEFAULT_AGENT_DOWN_KEEP_MS = 30 * 60_000;

// Wiring. Desired state comes from the VNI configuration and the gossip record store; the reconcile
// loop realises it in the kernel; the server gets status and our records, but the data plane never
// waits for it.
export class Agent {
  readonly store: RecordStore;
  // Addresses for workloads joining a VNI here (HostIpam), from blocks the server gives this host.
  readonly ipam: BlockAllocator;
  private readonly blockClaims: GrpcBlockClaims;
  private readonly peers: PeerTable;
  private readonly config: ConfigFollower;
  private readonly sync: RecordSync;
  private readonly link: ServerLink;
  private readonly watch: KernelWatch;
  private readonly duplicates: DuplicateDetector;
  private readonly localRecords: LocalRecordsSync;
  private readonly loop: ReconcileLoop;
  private readonly commands: CommandHandlers;
  private cluster: GossipCluster | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private identity: NodeIdentity;
  private readonly certificates: PeerCertificates;
  readonly drops: DropCounter;
  private readonly renewal: CertificateRenewal;
  private readonly revoked = new Map<string, number>();
  private readonly departed: DepartedOwners;
  private readonly liveness: HostLiveness;
  private readonly doubts: PathDoubtSharing;
  private readonly sweep: VtepSweep | undefined;
  private readonly cni: CniService | undefined;

  constructor(private readonly options: AgentOptions) {
    const { vtep, log, rt, name, state, metrics } = options;
    this.identity = options.identity;
    this.certificates = new PeerCertificates(this.identity.anchor);
    this.drops = new DropCounter((reason, n) => metrics?.dropped.inc({ reason }, n));
    this.store = new RecordStore({
      node: name,
      incarnation: state.incarnation,
      tombstoneTtlMs: TOMBSTONE_TTL_MS,
      deferRefutation: true,
      maxRecordsPerOwner: options.maxRecordsPerOwner,
    });
    this.store.on('incarnation', (n) => state.saveIncarnation(n));
    this.store.on('change', (change) => {
      if (affectsRemoteView(change, this.store)) this.loop.schedule('fdb', true);
    });
    this.liveness = this.hostLiveness();
    this.peers = new PeerTable(name, options.gossip.join, this.liveness, log.child({ part: 'peers' }));
    this.departed = new DepartedOwners(options.departedRecordTtlMs ?? DEFAULT_DEPARTED_RECORD_TTL_MS);
    this.duplicates = new DuplicateDetector(options.duplicates ?? DEFAULT_DUPLICATE_DETECTION);
    this.config = new ConfigFollower(
      state,
      () => this.identity.anchor,
      { changed: () => this.onConfigChanged(), revocations: (r) => this.applyRevocations(r) },
      log,
    );
    this.store.on('forgotten', () => this.loop.schedule('fdb', true));
    this.renewal = this.certificateRenewal();
    this.sync = this.recordSync();
    this.doubts = this.pathDoubtSharing();
    this.sweep = this.vtepSweep();
    this.link = this.serverLink();
    this.blockClaims = new GrpcBlockClaims(() => this.link.serversInTurn()[0], this.identity.channelCredentials());
    this.ipam = openAgentIpam(state, this.blockClaims, log);
    const outbox = new LocalChangeOutbox(this.store);
    outbox.subscribe((records) => this.sync.publishOwn(records));
    outbox.subscribe((records) => this.link.sendRecords(records.map(recordToProto)));
    const attacher = new EndpointAttacher(
      rt,
      name,
      (vni) => attachPointOf(state.vnis, vni),
      log.child({ part: 'endpoints' }),
    );
    this.watch = new KernelWatch(
      ({ pass, reason }) => {
        if (pass === 'full') log.info('full pass', { reason });
        else metrics?.repairs.inc();
        this.loop.schedule(pass);
      },
      log.child({ part: 'kernel-watch' }),
    );
    const attached = () => attacher.list();
    const alive = (owner: string) => this.peers.alive(owner);
    this.localRecords = new LocalRecordsSync({
      store: this.store,
      vtep,
      rt,
      attached,
      alive,
      duplicates: this.duplicates,
      wake: () => this.loop.schedule('fdb'),
      metrics,
      log,
    });
    this.loop = kernelReconcileLoop({
      rt,
      driver: options.driver,
      vtep,
      attached,
      replug: (bridges) => attacher.replug(bridges),
      bpf: options.bpf,
      metrics,
      log,
      localRecords: this.localRecords,
      vnis: () => state.vnis,
      authoritative: () => this.config.authoritative,
      desired: (localVnis) => desiredRemote(this.store, { alive, localVnis }),
      onRealised: (r) =>
        this.watch.follow(
          r.l2,
          r.l3.map((v) => v.deviceIndex),
        ),
      onRemoteWritten: () => this.peers.logWithdrawn(),
      configRevision: () => state.configRevision,
      onPass: (vnis, configRevision) => this.link.sendStatus({ vnis, configRevision }),
    });
    this.commands = this.agentCommands(attacher, alive);
    this.cni = this.cniService(attacher);
    metrics?.metrics.onCollect(() => this.collect(metrics));
  }

  async start(): Promise<void> {
    const { state, log, gossip } = this.options;
    log.info('agent starting', {
      vtep: this.options.vtep,
      incarnation: this.store.incarnation,
      cachedRevision: state.configRevision,
      cachedVnis: state.vnis.length,
    });
    this.applyRevocations(new Revocations(state.revocations));
    this.loop.start();
    this.link.start();
    this.ipam.start();
    this.renewal.start();
    this.cluster = await gossip.createCluster(this.gossipHandlers());
    this.sync.attach(this.cluster);
    this.peers.attach(this.cluster);
    this.sweep?.start();
    this.timers.push(
      setInterval(() => this.loop.schedule('full'), RESYNC_INTERVAL_MS),
      setInterval(() => void this.sync.antiEntropy(), ANTI_ENTROPY_INTERVAL_MS),
      setInterval(() => this.reap(), REAP_INTERVAL_MS),
      setInterval(() => void this.peers.reconnect(), RECONNECT_INTERVAL_MS),
    );
    if (gossip.join.length === 0) this.loop.endGrace('no peers to wait for');
    this.sync.onSynced(() => this.loop.endGrace('synchronised with a peer'));
    void this.peers.joinWithRetry();
    await this.cni?.start();
  }

  // Graceful: peers withdraw our entries at once. Devices and FDB stay in place for a restart.
  async stop(leave: boolean): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.renewal.stop();
    await this.cni?.close();
    this.peers.stop();
    this.sweep?.stop();
    this.liveness.close();
    this.localRecords.close();
    this.watch.close();
    this.link.close();
    this.ipam.close();
    this.blockClaims.close();
    await this.loop.stop();
    if (!this.cluster) return;
    const warn = (err: Error) => this.options.log.warn('leave did not complete', { error: err.message });
    if (leave) await this.cluster.leave(2_000).catch(warn);
    await this.cluster.shutdown();
  }

  readiness(): { ready: boolean; checks: Record<string, string> } {
    return readiness({
      kernelSynced: this.loop.kernelSynced,
      sweepAllowed: this.loop.sweepAllowed,
      join: this.options.gossip.join,
      anyPeerAlive: this.peers.anyOtherAlive(),
      serverConnected: this.link.connected,
      server: this.options.servers.join(','),
      statuses: this.loop.status(),
    });
  }

  // New duplicate detection bounds (SIGHUP): they take effect at the next move.
  reconfigureDuplicates(options: DuplicateDetectionOptions): void {
    this.duplicates.reconfigure(options);
  }

  // Runs a reconcile pass and waits for it: what the host announces then reflects the kernel.
  settle(): Promise<void> {
    return this.loop.settle();
  }

  status(): ProgrammingStatus[] {
    return this.loop.status();
  }

  private agentCommands(attacher: EndpointAttacher, alive: (owner: string) => boolean): CommandHandlers {
    const { name, vtep, keys, log, rt } = this.options;
    const { store, duplicates } = this;
    return agentCommandHandlers({
      name,
      vtep,
      store,
      attacher,
      ipam: this.ipam,
      duplicates,
      alive,
      keys,
      settle: () => this.settle(),
      kernel: { realised: () => this.loop.realisedVnis, read: (realised, vni) => readKernelTruth(rt, realised, vni) },
      log,
    });
  }

  // The CNI plugin's attachments go through the same attacher as ctl's, so they are announced alike.
  private cniService(attacher: EndpointAttacher): CniService | undefined {
    const { cni, rt, state, log } = this.options;
    if (!cni) return undefined;
    return new CniService(cni, {
      attacher,
      rt,
      ipam: this.ipam,
      attachPoint: (vni) => attachPointOf(state.vnis, vni),
      settle: () => this.loop.settle(),
      readiness: () => this.readiness(),
      log: log.child({ part: 'cni' }),
    });
  }

  private certificateRenewal(): CertificateRenewal {
    const { state, log, name, vtep } = this.options;
    return new CertificateRenewal({
      servers: () => this.link.serversInTurn(),
      dataDir: state.dir,
      name,
      vtep,
      current: () => this.identity,
      renewed: (identity) => this.renewed(identity),
      log: log.child({ part: 'certificate' }),
    });
  }

  private recordSync(): RecordSync {
    const { state, log } = this.options;
    return new RecordSync(
      this.store,
      {
        revision: () => state.configRevision,
        signed: () => state.signedConfig,
        adopt: (config) => this.config.apply(config, 'gossip'),
      },
      { signer: () => this.identity.signer(), certificates: this.certificates, drops: this.drops },
      log.child({ part: 'gossip' }),
    );
  }

  // What our probes find is told to peers, and what peers found makes us probe (never withdraw) too.
  private pathDoubtSharing(): PathDoubtSharing {
    const doubts = new PathDoubtSharing(
      () => this.cluster,
      (subject) => this.liveness.pathInDoubt(subject, 'peer'),
      this.options.log.child({ part: 'liveness' }),
    );
    this.liveness.on('doubt', (name) => doubts.tell(name));
    this.sync.onPathDoubt((subject) => doubts.take(subject));
    return doubts;
  }

  // A ping of a peer's VTEP that goes unanswered is doubted as a failed gossip probe is.
  private vtepSweep(): VtepSweep | undefined {
    const { sweep, reach, name, log } = this.options;
    if (!sweep) return undefined;
    const hooks = {
      peers: () => this.liveness.forwardingPeers(),
      unanswered: (peer: string) => this.liveness.pathInDoubt(peer),
    };
    return new VtepSweep(name, reach, hooks, sweep, log.child({ part: 'liveness' }));
  }

  private serverLink(): ServerLink {
    const { log, name, vtep } = this.options;
    return new ServerLink(
      this.options.servers,
      () => ({
        node: name,
        vtep,
        incarnation: this.store.incarnation,
        agentVersion: AGENT_VERSION,
        // Realised, not only received: the server reads it as what this host has (ctl vni --wait).
        configRevision: this.loop.realisedConfigRevision,
      }),
      {
        onConfig: (config) => void this.config.apply(config, 'server'),
        onCommand: (command) => dispatchCommand(command, this.commands, AGENT_VERSION),
        onConnected: () => {
          this.link.sendRecords(this.store.owned().map(recordToProto));
          this.link.sendMembership(this.peers.asNodes());
        },
      },
      log.child({ part: 'server-link' }),
      this.identity.channelCredentials(),
    );
  }

  private gossipHandlers(): GossipHandlers {
    const { vtep, state } = this.options;
    return {
      meta: () =>
        metaCodec.encode({
          vtep,
          configRevision: state.configRevision,
          agentVersion: AGENT_VERSION,
          incarnation: this.store.incarnation,
        }),
      message: (payload) => this.sync.onMessage(payload),
      localState: (join) => this.sync.localState(join),
      mergeRemoteState: (payload) => this.sync.mergeRemoteState(payload),
      // What it changes reaches the kernel and the server through the host liveness's events.
      peerChanged: (peer) => this.peers.update(peer),
      peerUnreachable: (name) => this.liveness.pathInDoubt(name),
    };
  }

  private hostLiveness(): HostLiveness {
    const { reach, agentDownKeepMs, log } = this.options;
    const liveness = new HostLiveness(
      reach,
      agentDownKeepMs ?? DEFAULT_AGENT_DOWN_KEEP_MS,
      log.child({ part: 'liveness' }),
    );
    // A host judged gone, or forwarding again, changes what we program, even when gossip did not.
    liveness.on('change', (_name, _state, forwardingChanged) => {
      if (forwardingChanged) this.loop.schedule('fdb', true);
      this.link.sendMembership(this.peers.asNodes());
    });
    return liveness;
  }

  // A revoked node's records go at once, from the store and so from the kernel; its certificates
  // are forgotten, so nothing it signed is taken again.
  private applyRevocations(revocations: Revocations): void {
    this.certificates.setRevocations(revocations);
    for (const { node, revokedAtMs } of revocations.list()) {
      // Only a new revocation: records of a node re-enrolled since then are signed by a new certificate.
      if (this.revoked.get(node) === revokedAtMs) continue;
      this.revoked.set(node, revokedAtMs);
      const n = this.store.forget(node);
      if (n > 0) this.options.log.warn('dropped the records of a revoked node', { node, records: n });
    }
  }

  // Tombstones past their TTL, and every record of an owner gossip has not had alive for
  // --departed-record-ttl: a host that is gone for good stops costing memory everywhere.
  private reap(): void {
    this.store.reap();
    const owners = this.store
      .ownerSummaries()
      .map((s) => s.owner)
      .filter((o) => o !== this.options.name);
    for (const owner of this.departed.expired(owners, (o) => this.peers.alive(o))) {
      const records = this.store.forget(owner);
      this.options.log.info('forgot the records of an owner gone from gossip', { owner, records });
    }
  }

  private renewed(identity: NodeIdentity): void {
    this.identity = identity;
    this.link.setCredentials(identity.channelCredentials());
    this.blockClaims.setCredentials(identity.channelCredentials());
  }

  private onConfigChanged(): void {
    void this.cluster?.updateMeta().catch(() => undefined);
    void this.ipam.prune(this.options.state.vnis);
    this.loop.schedule('full');
  }

  private collect(metrics: AgentMetrics): void {
    const { counters } = this.sync;
    metrics.set({
      statuses: this.loop.status(),
      members: this.peers.countsByState(),
      queuedBroadcasts: this.cluster?.queuedBroadcasts() ?? 0,
      accepted: { applied: counters.applied, refuted: counters.refuted },
      records: this.store.liveCount(),
      frozen: this.duplicates.frozen(),
      probes: this.options.reach.stats(),
      doubts: this.doubts.stats(),
      sweep: this.sweep?.stats() ?? { pinged: 0, unanswered: 0 },
      server: { addresses: this.options.servers, connected: this.link.server },
    });
  }
}
