import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/log';
import type { VniConfig } from '../common/vni';
import { vniFromProto, vniToProto } from '../common/vni-proto';
import { recordToProto } from '../common/record-proto';
import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';
import type { AgentState } from './agent-state';
import type { AgentMetrics } from './agent-metrics';
import { agentCommandHandlers } from './commands/agent-commands';
import { CommandHandlers, dispatchCommand } from './commands/command-dispatch';
import type { KeyringCommands } from './commands/keyring-commands';
import type { GossipCluster, GossipHandlers } from './gossip/cluster';
import { PeerTable, metaCodec } from './gossip/peer-table';
import { RecordSync } from './gossip/record-sync';
import { DeviceReconciler } from './kernel/device-reconciler';
import { EndpointAttacher } from './kernel/endpoint-attacher';
import { KernelWatch } from './kernel/kernel-watch';
import { L3RouteWriter } from './kernel/l3-route-writer';
import type { LinkDriver } from './kernel/link-driver';
import { RemoteFdbWriter } from './kernel/remote-fdb-writer';
import { findUnderlay } from './kernel/underlay';
import { bridgeName, l3DeviceName } from './kernel/vni-devices';
import type { Rtnetlink } from './netlink';
import { KernelDeviceStep } from './reconcile/device-step';
import { L3RouteStep } from './reconcile/l3-route-step';
import { LocalRecordsSync } from './reconcile/local-records-step';
import { ReconcileLoop } from './reconcile/reconcile-loop';
import { RemoteL2Step } from './reconcile/remote-l2-step';
import { ServerLink } from './server-link';
import { DEFAULT_DUPLICATE_DETECTION, DuplicateDetectionOptions, DuplicateDetector } from './state/duplicate-detector';
import { LocalChangeOutbox } from './state/outbox';
import { RecordStore } from './state/record-store';
import { desiredRemote } from './state/remote-view';

export const AGENT_VERSION = '0.2.0';
// Out-of-band changes are also caught by notifications; this is the backstop.
const RESYNC_INTERVAL_MS = 30_000;
const ANTI_ENTROPY_INTERVAL_MS = 2_000;
const REAP_INTERVAL_MS = 60_000;
const RECONNECT_INTERVAL_MS = 5_000;
// After a start, remote entries are not swept until the first anti-entropy exchange has refilled
// the desired state, and at most this long after starting.
const GRACE_MAX_MS = 15_000;
const MAX_PASS_REST_MS = 200;
// Tombstones must outlast the longest partition we heal from without a full resync.
const TOMBSTONE_TTL_MS = 24 * 3600_000;

export interface GossipOptions {
  createCluster(handlers: GossipHandlers): Promise<GossipCluster>;
  join: string[];
}

export interface AgentOptions {
  metrics?: AgentMetrics;
  // ctl keys: the gossip keyring and the file it came from (if any).
  keys?: KeyringCommands;
  // For the server stream (TLS, mutual TLS); plaintext when absent.
  credentials?: grpc.ChannelCredentials;
  duplicates?: DuplicateDetectionOptions;
  name: string;
  vtep: string;
  server: string;
  state: AgentState;
  driver: LinkDriver;
  rt: Rtnetlink;
  gossip: GossipOptions;
  log: Logger;
}

// Wiring. Desired state comes from the VNI configuration (server, else the cached copy, else a peer
// with a newer revision) and the gossip record store; the reconcile loop realises it in the kernel;
// the server gets status and our records, but the data plane never waits for it.
export class Agent {
  readonly store: RecordStore;
  private readonly peers: PeerTable;
  private readonly sync: RecordSync;
  private readonly link: ServerLink;
  private readonly watch: KernelWatch;
  private readonly attacher: EndpointAttacher;
  private readonly duplicates: DuplicateDetector;
  private readonly localRecords: LocalRecordsSync;
  private readonly loop: ReconcileLoop;
  private readonly commands: CommandHandlers;
  private cluster: GossipCluster | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  // A cached configuration is a complete desired set: it may sweep devices. A fresh data dir may not.
  private authoritative: boolean;

  constructor(private readonly options: AgentOptions) {
    const { driver, vtep, log, rt, name, state, metrics } = options;
    this.authoritative = state.configRevision > 0;
    this.store = new RecordStore({
      node: name,
      incarnation: state.incarnation,
      tombstoneTtlMs: TOMBSTONE_TTL_MS,
      deferRefutation: true,
    });
    this.store.on('incarnation', (n) => state.saveIncarnation(n));
    // Our own changes count too: withdrawing a claim can hand the MAC to another host's claim.
    this.store.on('change', () => this.loop.schedule('fdb', true));
    this.peers = new PeerTable(name, options.gossip.join, log.child({ part: 'peers' }));
    this.duplicates = new DuplicateDetector(options.duplicates ?? DEFAULT_DUPLICATE_DETECTION);
    this.sync = new RecordSync(
      this.store,
      {
        revision: () => state.configRevision,
        snapshot: () => ({ revision: state.configRevision, vnis: state.vnis.map(vniToProto) }),
        adopt: (config) => this.onConfig(Number(config.revision), config.vnis.map(vniFromProto), 'gossip'),
      },
      (node) => this.peers.vtepOf(node),
      log.child({ part: 'gossip' }),
    );
    this.link = new ServerLink(
      options.server,
      () => ({
        node: name,
        vtep,
        incarnation: this.store.incarnation,
        agentVersion: AGENT_VERSION,
        configRevision: state.configRevision,
      }),
      {
        onConfig: (revision, vnis) => this.onConfig(revision, vnis, 'server'),
        onCommand: (command) => dispatchCommand(command, this.commands, AGENT_VERSION),
        onConnected: () => {
          this.link.sendRecords(this.store.owned().map(recordToProto));
          this.link.sendMembership(this.peers.asNodes());
        },
      },
      log.child({ part: 'server-link' }),
      options.credentials,
    );
    const outbox = new LocalChangeOutbox(this.store);
    outbox.subscribe((records) => this.sync.publishOwn(records));
    outbox.subscribe((records) => this.link.sendRecords(records.map(recordToProto)));
    this.attacher = new EndpointAttacher(
      rt,
      name,
      (vni) => {
        const config = state.vnis.find((v) => v.id === vni);
        if (!config) return undefined;
        return config.mode === 'l3'
          ? { device: l3DeviceName(config.dstport), routed: true }
          : { device: bridgeName(vni), routed: false };
      },
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
    const attached = () => this.attacher.list();
    const alive = (owner: string) => this.peers.alive(owner);
    this.localRecords = new LocalRecordsSync({
      store: this.store,
      vtep,
      rt,
      attached,
      alive,
      duplicates: this.duplicates,
      metrics,
      log,
      wake: () => this.loop.schedule('fdb'),
    });
    this.loop = new ReconcileLoop({
      steps: {
        devices: new KernelDeviceStep(
          new DeviceReconciler(driver, vtep, () => findUnderlay(vtep, driver), log.child({ part: 'devices' })),
          rt,
          {
            vnis: () => state.vnis,
            authoritative: () => this.authoritative,
            onRealised: (r) =>
              this.watch.follow(
                r.l2,
                r.l3.map((v) => v.deviceIndex),
              ),
          },
          log,
        ),
        remoteL2: new RemoteL2Step(
          new RemoteFdbWriter(rt, log.child({ part: 'fdb' })),
          metrics,
          () => this.peers.logWithdrawn(),
          log,
        ),
        l3Routes: new L3RouteStep(new L3RouteWriter(rt, log.child({ part: 'routes' })), rt, attached),
        localRecords: this.localRecords,
      },
      desired: (localVnis) => desiredRemote(this.store, { alive, localVnis }),
      onPass: (vnis) => this.link.sendStatus({ vnis, configRevision: state.configRevision }),
      log,
      graceMaxMs: GRACE_MAX_MS,
      maxRestMs: MAX_PASS_REST_MS,
    });
    this.commands = agentCommandHandlers({
      name,
      vtep,
      store: this.store,
      attacher: this.attacher,
      duplicates: this.duplicates,
      keys: options.keys,
      settle: () => this.loop.settle(),
      log,
    });
    metrics?.registry.onCollect(() =>
      metrics.set({
        statuses: this.loop.status(),
        members: this.peers.countsByState(),
        queuedBroadcasts: this.cluster?.queuedBroadcasts() ?? 0,
        rejected: { malformed: this.sync.counters.malformed, spoofed: this.sync.counters.rejected },
        accepted: { applied: this.sync.counters.applied, refuted: this.sync.counters.refuted },
        records: this.store.liveCount(),
        duplicatesFrozen: this.duplicates.frozen().length,
      }),
    );
  }

  async start(): Promise<void> {
    const { state, log, gossip } = this.options;
    log.info('agent starting', {
      vtep: this.options.vtep,
      incarnation: this.store.incarnation,
      cachedRevision: state.configRevision,
      cachedVnis: state.vnis.length,
    });
    this.loop.start();
    this.link.start();
    this.cluster = await gossip.createCluster(this.gossipHandlers());
    this.sync.attach(this.cluster);
    this.peers.attach(this.cluster);
    this.timers.push(
      setInterval(() => this.loop.schedule('full'), RESYNC_INTERVAL_MS),
      setInterval(() => void this.sync.antiEntropy(), ANTI_ENTROPY_INTERVAL_MS),
      setInterval(() => this.store.reap(), REAP_INTERVAL_MS),
      setInterval(() => void this.peers.reconnect(), RECONNECT_INTERVAL_MS),
    );
    if (gossip.join.length === 0) this.loop.endGrace('no peers to wait for');
    this.sync.onSynced(() => this.loop.endGrace('synchronised with a peer'));
    void this.peers.joinWithRetry();
  }

  // Graceful: peers withdraw our entries at once. Devices and FDB stay in place for a restart.
  async stop(leave: boolean): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.peers.stop();
    this.localRecords.close();
    this.watch.close();
    this.link.close();
    await this.loop.stop();
    if (!this.cluster) return;
    if (leave)
      await this.cluster
        .leave(2_000)
        .catch((err: Error) => this.options.log.warn('leave did not complete', { error: err.message }));
    await this.cluster.shutdown();
  }

  private gossipHandlers(): GossipHandlers {
    return {
      meta: () =>
        metaCodec.encode({
          vtep: this.options.vtep,
          configRevision: this.options.state.configRevision,
          agentVersion: AGENT_VERSION,
          incarnation: this.store.incarnation,
        }),
      message: (payload) => this.sync.onMessage(payload),
      localState: (join) => this.sync.localState(join),
      mergeRemoteState: (payload) => this.sync.mergeRemoteState(payload),
      peerChanged: (peer) => {
        if (!this.peers.update(peer)) return;
        this.loop.schedule('fdb', true);
        this.link.sendMembership(this.peers.asNodes());
      },
    };
  }

  private onConfig(revision: number, vnis: VniConfig[], source: 'server' | 'gossip'): void {
    const { state, log } = this.options;
    if (source === 'gossip' && revision <= state.configRevision) return;
    if (revision < state.configRevision)
      log.warn('server configuration is older than the cached one; following the server', {
        revision,
        cachedRevision: state.configRevision,
      });
    this.authoritative = true;
    if (revision === state.configRevision && JSON.stringify(vnis) === JSON.stringify(state.vnis)) {
      // The cached configuration a restart began with: the start-up pass already realised it.
      log.info('configuration confirmed', { source, revision });
      return;
    }
    state.saveConfig(revision, vnis);
    log.info('configuration received', { source, revision, vnis: vnis.map((v) => v.id) });
    void this.cluster?.updateMeta().catch(() => undefined);
    this.loop.schedule('full');
  }

  // Whether this host forwards on a trustworthy table: the kernel has been reconciled once and gossip
  // has synchronised with a peer (or has none to wait for). The server link and per-VNI device
  // errors are reported but do not gate readiness: the agent works without the server, and a VNI
  // that cannot be realised does not stop the others.
  readiness(): { ready: boolean; checks: Record<string, string> } {
    const { join } = this.options.gossip;
    const checks: Record<string, string> = {
      kernel: this.loop.kernelSynced ? 'ok' : 'first reconcile pass not finished',
      gossip:
        join.length > 0 && !this.peers.anyOtherAlive()
          ? `no peer answering (--join ${join.join(',')})`
          : this.loop.sweepAllowed
            ? 'ok'
            : 'synchronising with a peer',
      server: this.link.connected ? 'ok' : `not connected to ${this.options.server} (informational)`,
    };
    const failed = this.loop.status().filter((s) => !s.devicesReady);
    checks.vnis = failed.length === 0 ? 'ok' : failed.map((s) => `VNI ${s.vni}: ${s.error}`).join('; ');
    return { ready: checks.kernel === 'ok' && checks.gossip === 'ok', checks };
  }

  status(): ProgrammingStatus[] {
    return this.loop.status();
  }
}
