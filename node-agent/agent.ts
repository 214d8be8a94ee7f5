import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/log';
import type { VniConfig } from '../common/vni';
import { vniFromProto, vniToProto } from '../common/vni-proto';
import { messageCodec } from '../common/proto-codec';
import { recordToProto } from '../common/record-proto';
import { RecordStore } from '../common/fdb-state/record-store';
import type { StateRecord } from '../common/fdb-state/record';
import { DesiredRemote, FdbView } from '../common/fdb-state/fdb-view';
import { MoveTracker } from '../common/fdb-state/mobility';
import { RpcError } from '../common/grpc-errors';
import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';
import type { Command__Output } from '../generated/vxgossip/v1/Command';
import type { CommandResult } from '../generated/vxgossip/v1/CommandResult';
import type { NodeMeta, NodeMeta__Output } from '../generated/vxgossip/v1/NodeMeta';
import { AgentState } from './agent-state';
import type { AgentMetrics } from './agent-metrics';
import type { KeyringCommands } from './keyring-commands';
import { DeviceReconciler } from './device-reconciler';
import { EndpointAttacher } from './endpoint-attacher';
import { FdbReconciler, VniPorts } from './fdb-reconciler';
import type { GossipCluster, GossipHandlers, Peer } from './gossip/cluster';
import { RecordSync } from './gossip/record-sync';
import { KernelWatch } from './kernel-watch';
import type { LinkDriver } from './link-driver';
import { scanLocalEndpoints } from './local-endpoints';
import { syncLocalRecords } from './local-records';
import type { Rtnetlink } from './netlink';
import { ServerLink } from './server-link';
import { findUnderlay } from './underlay';
import { bridgeName, l3DeviceName, vxlanName } from './vni-devices';
import { L3Vni, LocalL3Endpoint, RouteReconciler } from './route-reconciler';

export const AGENT_VERSION = '0.2.0';
// Out-of-band changes are also caught by notifications; this is the backstop.
const RESYNC_INTERVAL_MS = 30_000;
const ANTI_ENTROPY_INTERVAL_MS = 2_000;
const REAP_INTERVAL_MS = 60_000;
// As serf does: failed peers are retried, so both sides of a healed partition (each of which
// declared the other dead, and so never probes it) find each other again.
const RECONNECT_INTERVAL_MS = 5_000;
// After a start, remote entries are not swept until the first anti-entropy exchange has refilled
// the desired state, and at most GRACE_MAX_MS after starting.
const GRACE_MAX_MS = 15_000;
const MAX_PASS_REST_MS = 200;
// Tombstones must outlast the longest partition we heal from without a full resync.
const TOMBSTONE_TTL_MS = 24 * 3600_000;

const metaCodec = messageCodec<NodeMeta, NodeMeta__Output>('vxgossip.v1.NodeMeta');

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
  name: string;
  vtep: string;
  server: string;
  state: AgentState;
  driver: LinkDriver;
  rt: Rtnetlink;
  gossip: GossipOptions;
  log: Logger;
}

// Ties the pieces together. Desired state comes from two sources: the VNI configuration (server,
// else the cached copy, else a peer with a newer revision) and the gossip record store (what every
// host announces). Passes realise it in the kernel; the server gets status and our records, but the
// data plane never waits for it.
export class Agent {
  private readonly devices: DeviceReconciler;
  private readonly fdb: FdbReconciler;
  private readonly routes: RouteReconciler;
  private l3Vnis: L3Vni[] = [];
  private readonly attacher: EndpointAttacher;
  readonly store: RecordStore;
  private readonly sync: RecordSync;
  private readonly view: FdbView;
  private readonly link: ServerLink;
  private readonly watch: KernelWatch;
  private readonly peers = new Map<string, Peer & { vtep?: string }>();
  private cluster: GossipCluster | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private authoritative: boolean;
  private ports: VniPorts[] = [];
  private lastStatus: ProgrammingStatus[] = [];
  // Pass scheduling: one pass at a time; requests during a pass collapse into one more.
  private running: Promise<void> = Promise.resolve();
  private wantFull = false;
  private scheduled = false;
  private stopped = false;
  private sweepAllowed = false;
  // Peers declared dead or gone since the last pass: logged once their entries are withdrawn.
  private readonly deadSince = new Map<string, number>();
  private readonly startedAt = Date.now();
  private lastCounts = '';
  private readonly toServer: StateRecord[] = [];
  private lastFingerprint = '';
  private kernelDirty = true;
  // A full pass (devices and FDB) has completed since start.
  private kernelSynced = false;

  constructor(private readonly options: AgentOptions) {
    const { driver, vtep, log, rt, name, state } = options;
    this.devices = new DeviceReconciler(driver, vtep, () => findUnderlay(vtep, driver), log.child({ part: 'devices' }));
    this.fdb = new FdbReconciler(rt, log.child({ part: 'fdb' }));
    this.attacher = new EndpointAttacher(rt, name, (vni) => {
      const config = state.vnis.find((v) => v.id === vni);
      if (!config) return undefined;
      return config.mode === 'l3' ? { device: l3DeviceName(config.dstport), routed: true } : { device: bridgeName(vni), routed: false };
    }, log.child({ part: 'endpoints' }));
    this.routes = new RouteReconciler(rt, log.child({ part: 'routes' }));
    this.store = new RecordStore({ node: name, incarnation: state.identity.incarnation, tombstoneTtlMs: TOMBSTONE_TTL_MS, deferRefutation: true });
    this.view = new FdbView(this.store, new MoveTracker(), (key, claims) =>
      log.error('duplicate MAC: it moved too often and is frozen where it was', { key, claimants: claims.map((c) => c.owner) }),
    );
    this.sync = new RecordSync(
      this.store,
      {
        revision: () => state.configRevision,
        snapshot: () => ({ revision: state.configRevision, vnis: state.vnis.map(vniToProto) }),
        adopt: (config) => this.onConfig(Number(config.revision), config.vnis.map(vniFromProto), 'gossip'),
      },
      (node) => this.peers.get(node)?.vtep,
      log.child({ part: 'gossip' }),
    );
    this.store.on('change', ({ local, after }) => {
      if (local) this.replicate(after);
      else this.schedule('fdb', true);
    });
    // A cached configuration is a complete desired set too: it may sweep. A fresh data dir may not.
    this.authoritative = state.configRevision > 0;
    this.link = new ServerLink(
      options.server,
      () => ({ node: name, vtep, incarnation: state.identity.incarnation, agentVersion: AGENT_VERSION, configRevision: state.configRevision }),
      {
        onConfig: (revision, vnis) => this.onConfig(revision, vnis, 'server'),
        onCommand: (command) => this.onCommand(command),
        onConnected: () => {
          this.link.sendRecords(this.store.owned().map(recordToProto));
          this.sendMembership();
        },
      },
      log.child({ part: 'server-link' }),
      options.credentials,
    );
    this.watch = new KernelWatch(
      {
        fdb: () => {
          options.metrics?.repairs.inc();
          this.schedule('fdb');
        },
        full: (reason) => {
          log.info('full pass', { reason });
          this.schedule('full');
        },
      },
      log.child({ part: 'kernel-watch' }),
    );
    options.metrics?.registry.onCollect(() => this.collectMetrics());
  }

  async start(): Promise<void> {
    const { state, log } = this.options;
    log.info('agent starting', {
      vtep: this.options.vtep, incarnation: state.identity.incarnation, cachedRevision: state.configRevision, cachedVnis: state.vnis.length,
    });
    this.schedule('full');
    this.link.start();
    this.cluster = await this.options.gossip.createCluster(this.gossipHandlers());
    this.sync.attach(this.cluster);
    this.timers.push(
      setInterval(() => this.schedule('full'), RESYNC_INTERVAL_MS),
      setInterval(() => void this.sync.antiEntropy(), ANTI_ENTROPY_INTERVAL_MS),
      setInterval(() => this.store.reap(), REAP_INTERVAL_MS),
      setInterval(() => void this.reconnect(), RECONNECT_INTERVAL_MS),
    );
    const endGrace = (reason: string) => {
      if (this.sweepAllowed || this.stopped) return;
      this.sweepAllowed = true;
      this.options.log.info('restart grace period over: stale remote entries may now be swept', { reason, msSinceStart: Date.now() - this.startedAt });
      this.schedule('fdb');
    };
    const cap = setTimeout(() => endGrace('timeout'), GRACE_MAX_MS);
    this.timers.push(cap);
    if (this.options.gossip.join.length === 0) endGrace('no peers to wait for');
    this.sync.onSynced(() => endGrace('synchronised with a peer'));
    void this.joinWithRetry();
  }

  // Graceful: peers withdraw our entries at once. Devices and FDB stay in place for a restart.
  async stop(leave: boolean): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.watch.close();
    this.link.close();
    await this.running;
    if (this.cluster) {
      if (leave) await this.cluster.leave(2_000).catch((err: Error) => this.options.log.warn('leave did not complete', { error: err.message }));
      await this.cluster.shutdown();
    }
  }

  // One reachable peer is enough (gossip brings the rest), and each join carries a full state
  // snapshot: try the addresses in random order and stop at the first that answers.
  private async joinWithRetry(): Promise<void> {
    const { join } = this.options.gossip;
    if (join.length === 0 || !this.cluster) return;
    const others = join.filter((a) => a !== this.ownGossipAddress());
    const candidates = others.length > 0 ? others : join;
    for (let attempt = 1; !this.stopped; attempt++) {
      const errors: string[] = [];
      for (const address of [...candidates].sort(() => Math.random() - 0.5)) {
        try {
          await this.cluster.join([address]);
          // An address may turn out to be our own (a name, or an alias of our address): only a
          // peer other than ourselves counts.
          const others = this.cluster.peers().filter((p) => p.state === 'alive' && p.name !== this.options.name);
          if (others.length === 0) {
            errors.push(`${address}: answered, but no other member is known there`);
            continue;
          }
          this.options.log.info('joined the gossip cluster', { via: address, members: this.cluster.peers().length });
          return;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      this.options.log.warn('cannot join the gossip cluster yet; retrying', { join, attempt, errors });
      await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 10_000)));
    }
  }

  private ownGossipAddress(): string | undefined {
    return this.cluster?.localAddress;
  }

  private async reconnect(): Promise<void> {
    if (!this.cluster || this.stopped) return;
    const failed = [...this.peers.values()].filter((p) => p.state === 'dead').map((p) => p.address);
    const alone = ![...this.peers.values()].some((p) => p.state === 'alive' || p.state === 'suspect');
    const targets = alone ? [...new Set([...failed, ...this.options.gossip.join])] : failed;
    for (const address of targets) {
      try {
        await this.cluster.join([address]);
        this.options.log.info('reconnected to a failed peer', { address });
      } catch {
        // Still unreachable: try again next round.
      }
    }
  }

  private gossipHandlers(): GossipHandlers {
    return {
      meta: () => metaCodec.encode({
        vtep: this.options.vtep, configRevision: this.options.state.configRevision, agentVersion: AGENT_VERSION, incarnation: this.store.incarnation,
      }),
      message: (payload) => this.sync.onMessage(payload),
      localState: (join) => this.sync.localState(join),
      mergeRemoteState: (payload) => this.sync.mergeRemoteState(payload),
      peerChanged: (peer) => {
        let vtep: string | undefined;
        try {
          vtep = metaCodec.decode(peer.meta).vtep || undefined;
        } catch {
          vtep = undefined;
        }
        const before = this.peers.get(peer.name);
        this.peers.set(peer.name, { ...peer, vtep });
        if (before?.state !== peer.state) {
          this.options.log.info('peer state', { peer: peer.name, state: peer.state, vtep });
          if (peer.state === 'dead' || peer.state === 'left') this.deadSince.set(peer.name, Date.now());
          this.schedule('fdb', true);
          this.sendMembership();
        }
      },
    };
  }

  private collectMetrics(): void {
    const m = this.options.metrics!;
    m.desired.reset();
    m.programmed.reset();
    for (const s of this.lastStatus) {
      m.desired.set({ vni: s.vni ?? 0 }, s.desired ?? 0);
      m.programmed.set({ vni: s.vni ?? 0 }, s.programmed ?? 0);
    }
    const states: Record<string, number> = { alive: 1, suspect: 0, dead: 0, left: 0 };
    for (const p of this.peers.values()) if (p.name !== this.options.name) states[p.state]++;
    for (const [state, n] of Object.entries(states)) m.members.set({ state }, n);
    m.queueDepth.set({}, this.cluster?.queuedBroadcasts() ?? 0);
    m.rejected.set({ reason: 'malformed' }, this.sync.counters.malformed);
    m.rejected.set({ reason: 'spoofed' }, this.sync.counters.rejected);
    let live = 0;
    for (const _ of this.store.live()) live++;
    m.records.set({}, live);
  }

  // Changes made in one tick go to the server in one batch (one durable write there).
  private replicate(record: StateRecord): void {
    this.toServer.push(record);
    if (this.toServer.length > 1) return;
    setImmediate(() => this.link.sendRecords(this.toServer.splice(0).map(recordToProto)));
  }

  private sendMembership(): void {
    const state = (s: Peer['state']) => `NODE_STATE_${s.toUpperCase()}` as 'NODE_STATE_ALIVE';
    this.link.sendMembership([...this.peers.values()].map((p) => ({ name: p.name, vtep: p.vtep ?? '', state: state(p.state), gossipAddress: p.address })));
  }

  private alive(owner: string): boolean {
    if (owner === this.options.name) return true;
    const state = this.peers.get(owner)?.state;
    return state === 'alive' || state === 'suspect';
  }

  private onConfig(revision: number, vnis: VniConfig[], source: 'server' | 'gossip'): void {
    const { state, log } = this.options;
    if (source === 'gossip' && revision <= state.configRevision) return;
    if (revision < state.configRevision) log.warn('server configuration is older than the cached one; following the server', { revision, cachedRevision: state.configRevision });
    const unchanged = revision === state.configRevision && JSON.stringify(vnis) === JSON.stringify(state.vnis);
    this.authoritative = true;
    if (unchanged) {
      // The cached configuration a restart began with: the start-up pass already realised it.
      log.info('configuration confirmed', { source, revision });
      return;
    }
    state.saveConfig(revision, vnis);
    log.info('configuration received', { source, revision, vnis: vnis.map((v) => v.id) });
    void this.cluster?.updateMeta().catch(() => undefined);
    this.schedule('full');
  }

  private schedule(kind: 'full' | 'fdb', gossipOnly = false): void {
    if (this.stopped) return;
    // Every pass includes the FDB pass; only a full pass needs remembering. Anything but a gossip
    // change may mean the kernel moved: the next pass re-reads it.
    if (kind === 'full') this.wantFull = true;
    if (!gossipOnly) this.kernelDirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    this.running = this.running.then(async () => {
      this.scheduled = false;
      const full = this.wantFull;
      this.wantFull = false;
      const started = Date.now();
      try {
        if (full) await this.devicePass();
        await this.fdbPass();
        if (full) this.kernelSynced = true;
      } catch (err) {
        this.options.log.error('reconcile pass failed; retrying at the next trigger', { error: (err as Error).message });
      }
      // Under a burst of changes (thousands of records arriving), passes back to back would spend
      // all our CPU re-reading the kernel: rest as long as the pass took, so changes batch up.
      await new Promise((r) => setTimeout(r, Math.min(MAX_PASS_REST_MS, Date.now() - started)));
    });
  }

  // Whether this host forwards on a trustworthy table: the kernel has been reconciled once and gossip
  // has synchronised with a peer (or has none to wait for). The server link and per-VNI device
  // errors are reported but do not gate readiness: the agent works without the server, and a VNI
  // that cannot be realised does not stop the others.
  readiness(): { ready: boolean; checks: Record<string, string> } {
    const peersUp = [...this.peers.values()].some((p) => p.name !== this.options.name && p.state === 'alive');
    const checks: Record<string, string> = {
      kernel: this.kernelSynced ? 'ok' : 'first reconcile pass not finished',
      gossip:
        this.options.gossip.join.length > 0 && !peersUp
          ? `no peer answering (--join ${this.options.gossip.join.join(',')})`
          : this.sweepAllowed ? 'ok' : 'synchronising with a peer',
      server: this.link.connected ? 'ok' : `not connected to ${this.options.server} (informational)`,
    };
    const failed = this.lastStatus.filter((s) => !s.devicesReady);
    checks.vnis = failed.length === 0 ? 'ok' : failed.map((s) => `VNI ${s.vni}: ${s.error}`).join('; ');
    return { ready: checks.kernel === 'ok' && checks.gossip === 'ok', checks };
  }

  private async devicePass(): Promise<void> {
    const { state, log, rt } = this.options;
    const statuses = await this.devices.reconcile(state.vnis, this.authoritative);
    const ports: VniPorts[] = [];
    const l3: L3Vni[] = [];
    for (const vni of state.vnis) {
      if (!statuses.some((s) => s.vni === vni.id && s.devicesReady)) continue;
      if (vni.mode === 'l3') {
        const device = await rt.links.get(l3DeviceName(vni.dstport));
        if (device) l3.push({ vni: vni.id, deviceIndex: device.index });
        continue;
      }
      const [vx, br] = await Promise.all([rt.links.get(vxlanName(vni.id)), rt.links.get(bridgeName(vni.id))]);
      if (vx && br) ports.push({ vni: vni.id, vxlanIndex: vx.index, bridgeIndex: br.index, headEnd: vni.multicastGroup === '' });
    }
    this.ports = ports;
    this.l3Vnis = l3;
    this.watch.follow(ports, l3.map((v) => v.deviceIndex));
    this.lastStatus = statuses;
    log.info('reconciled', { revision: state.configRevision, ready: statuses.filter((s) => s.devicesReady).length, failed: statuses.filter((s) => !s.devicesReady).length });
  }

  // Remote entries first: a MAC that moved away is re-pointed before the local scan looks, so a
  // stale local entry is never mistaken for fresh evidence of the MAC being here.
  private async fdbPass(): Promise<void> {
    const { rt, vtep, state } = this.options;
    const t0 = Date.now();
    const localVnis = new Set([...this.ports.map((p) => p.vni), ...this.l3Vnis.map((v) => v.vni)]);
    const desired = this.view.compute({ alive: (o) => this.alive(o), localVnis });
    // Records changed but what this host must program did not (a peer restarted and re-issued the
    // same entries with new versions), and nothing touched the kernel: nothing to read or write.
    const fingerprint = fingerprintOf(desired, this.sweepAllowed, localVnis);
    if (fingerprint === this.lastFingerprint && !this.kernelDirty) return;
    this.lastFingerprint = fingerprint;
    this.kernelDirty = false;
    const t1 = Date.now();
    const result = await this.fdb.reconcile(this.ports, desired, this.sweepAllowed);
    const now = Date.now();
    for (const p of result.programmedNow) {
      this.options.log.debug('remote endpoint programmed', { vni: p.vni, mac: p.mac, owner: p.owner, latencyMs: now - p.originTimeMs });
      this.options.metrics?.convergence.observe(Math.max(0, now - p.originTimeMs) / 1000);
    }
    const m = this.options.metrics;
    if (m) {
      m.written.inc({ kind: 'add' }, result.added);
      m.written.inc({ kind: 'remove' }, result.removed);
      for (const code of result.errorCodes) m.netlinkErrors.inc({ errno: code });
    }
    for (const [peer, since] of this.deadSince) {
      this.options.log.info('withdrew the entries of a failed peer', { peer, msSinceDeclaredDead: now - since });
    }
    this.deadSince.clear();
    const attached = await this.attacher.list();
    const l3Ids = new Set(this.l3Vnis.map((v) => v.vni));
    const localL3: LocalL3Endpoint[] = [];
    for (const e of attached.filter((a) => l3Ids.has(a.vni))) {
      const host = await rt.links.get(e.hostInterface);
      if (host) localL3.push({ vni: e.vni, ip: e.ip, hostIfindex: host.index, hostInterface: e.hostInterface });
    }
    const routed = await this.routes.reconcile(this.l3Vnis, localL3, desired.endpoints.filter((e) => l3Ids.has(e.body.vni)), this.sweepAllowed);
    for (const [vni, n] of routed.desired) result.perVni.set(vni, { desired: n, programmed: routed.programmed.get(vni) ?? 0 });
    const t2 = Date.now();
    const endpoints = await scanLocalEndpoints(rt, localVnis, this.ports, attached);
    const changes = syncLocalRecords(this.store, vtep, [...localVnis], endpoints, (vni, mac) => this.view.isFrozen(vni, mac));
    if (changes.issued > 0 || changes.withdrawn > 0) this.options.log.info('local records changed', { ...changes, localEndpoints: endpoints.length });
    this.options.log.debug('fdb pass timing', { computeMs: t1 - t0, kernelMs: t2 - t1, localMs: Date.now() - t2 });
    const refuted = this.store.markLocalReady();
    if (refuted > 0) this.options.log.info('withdrew records a previous run issued and this one does not have', { refuted });
    const programmed = [...result.perVni.values()].reduce((sum, v) => sum + v.programmed, 0);
    const wanted = [...result.perVni.values()].reduce((sum, v) => sum + v.desired, 0);
    const counts = `${wanted}/${programmed}/${result.removed}`;
    if (counts !== this.lastCounts) {
      this.lastCounts = counts;
      this.options.log.info('fdb entries', { desired: wanted, programmed, removed: result.removed, msSinceStart: Date.now() - this.startedAt });
    }
    this.lastStatus = this.lastStatus.map((s) => {
      const counts = result.perVni.get(s.vni ?? 0);
      return { ...s, desired: counts?.desired ?? 0, programmed: counts?.programmed ?? 0 };
    });
    this.link.sendStatus({ vnis: this.lastStatus, configRevision: state.configRevision });
  }

  private async onCommand(command: Command__Output): Promise<CommandResult> {
    const id = command.id;
    try {
      if (command.cmd === 'attach' && command.attach) {
        const a = command.attach;
        const attached = await this.attacher.attach({ vni: a.vni, netns: a.netns, ip: a.ip, mac: a.mac || undefined, interface: a.interface || undefined });
        await this.settle();
        const record = this.store.get(this.options.name, `ep/${attached.vni}/${attached.mac}`);
        return {
          id,
          endpoint: {
            vni: attached.vni, mac: attached.mac, ips: [attached.ip], node: this.options.name, vtep: this.options.vtep, origin: 'ENDPOINT_ORIGIN_API',
            netns: attached.netns, interface: attached.interface, mobilitySeq: record?.body.kind === 'endpoint' ? record.body.mobilitySeq : 0,
            version: record?.version,
          },
        };
      }
      if (command.cmd === 'detach' && command.detach) {
        const d = command.detach;
        await this.attacher.detach({ vni: d.vni, netns: d.netns, interface: d.interface || undefined });
        await this.settle();
        return { id };
      }
      if (this.options.keys?.handles(command)) {
        const keyring = this.options.keys.run(command);
        this.options.log.info('gossip keyring command', { command: command.cmd, keys: Object.keys(keyring.keys ?? {}).length });
        return { id, keyring };
      }
      throw new RpcError(grpc.status.UNIMPLEMENTED, `agent ${AGENT_VERSION} does not handle ${command.cmd} commands`);
    } catch (err) {
      const code = err instanceof RpcError ? err.code : (err as Error).name === 'ValidationError' ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
      return { id, error: (err as Error).message, code };
    }
  }

  // Runs an FDB pass now and waits for it, so an attach answers only once the record is issued.
  private async settle(): Promise<void> {
    this.schedule('fdb');
    await this.running;
  }

  status(): ProgrammingStatus[] {
    return this.lastStatus;
  }
}

// What a pass would program, in a few bytes: equal fingerprints mean equal desired state.
function fingerprintOf(desired: DesiredRemote, sweep: boolean, vnis: ReadonlySet<number>): string {
  const hash = createHash('sha1');
  hash.update(`${sweep}|${[...vnis].sort().join(',')}|`);
  for (const f of desired.floods) hash.update(`f${f.vni}/${f.vtep};`);
  for (const e of desired.endpoints) hash.update(`e${e.body.vni}/${e.body.mac}/${e.body.vtep}/${e.body.ips.join(',')};`);
  return hash.digest('hex');
}
