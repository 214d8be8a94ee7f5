import type { Logger } from '../../common/log';
import { recordKey, StateRecord } from '../../common/fdb-state/record';
import { newer } from '../../common/fdb-state/version';
import type { RecordStore } from '../state/record-store';
import { OwnerSummary, sameSummary } from '../state/owner-summary';
import type { GossipMessage, GossipMessage__Output } from '../../generated/vxgossip/v1/GossipMessage';
import type { RecordBundle__Output } from '../../generated/vxgossip/v1/RecordBundle';
import type { SignedConfig, SignedConfig__Output } from '../../generated/vxgossip/v1/SignedConfig';
import type { SignedRecords, SignedRecords__Output } from '../../generated/vxgossip/v1/SignedRecords';
import type { GossipCluster } from './cluster';
import { gossipCodec } from './gossip-codec';
import { shuffled } from './shuffled';
import { BatchOpener, sealInBatches } from '../trust/record-batches';
import type { DropCounter, DropReason } from '../trust/drop-reasons';
import type { PeerCertificates } from '../trust/peer-certificates';
import { LocalSigner, RecordBundles } from './record-bundles';

// Peers a change of our own is pushed to directly; relays carry it to the rest.
const DIRECT_PUSH_FANOUT = 32;
// A direct push costs a datagram per batch and peer: a bulk change (a restart re-issuing thousands
// of records) goes to fewer peers, at least this many, and gossip and anti-entropy carry it on.
const DIRECT_PUSH_DATAGRAMS = 128;
const MIN_DIRECT_PUSH_FANOUT = 3;
// Above this many queued broadcasts, records learned from peers are not relayed.
const RELAY_QUEUE_LIMIT = 256;
// Signed record batches that fit one UDP packet with room for the signature and memberlist's framing.
const PACKET_RECORD_BYTES = 1050;
// An owner whose certificate we lack is asked for it at most this often.
const CERTIFICATE_FETCH_INTERVAL_MS = 2_000;
const CERTIFICATE_FETCHES_TRACKED = 10_000;

export type ConfigAdoption = 'adopted' | 'stale' | 'unsigned';

export interface ConfigSource {
  revision(): number;
  signed(): SignedConfig | undefined;
  // A peer holds a configuration we have not: adopted only if the server signed it and it is newer.
  adopt(config: SignedConfig__Output): ConfigAdoption;
}

export interface TrustContext {
  signer: () => LocalSigner;
  certificates: PeerCertificates;
  drops: DropCounter;
}

export interface SyncCounters {
  applied: number;
  refuted: number;
}

// Moves records between the local store and the cluster: every new record (ours, or a peer's seen
// for the first time) is broadcast, so updates spread epidemically, not only from their origin; and
// anti-entropy compares per-owner summaries and fetches every record of an owner that differs, so
// what depends on what (memberships, endpoints, tombstones) always travels together.
export class RecordSync {
  private cluster: GossipCluster | undefined;
  // The first full sync with a peer after start: owners we asked for, and the summary that peer had.
  private readonly awaited = new Map<string, OwnerSummary>();
  private syncedOnce = false;
  private readonly syncedListeners: Array<() => void> = [];
  private pathDoubtListener: (subject: string) => void = () => undefined;
  readonly counters: SyncCounters = { applied: 0, refuted: 0 };
  private readonly opener: BatchOpener;
  private readonly bundles: RecordBundles;
  private readonly certificateFetches = new Map<string, number>();

  constructor(
    private readonly store: RecordStore,
    private readonly config: ConfigSource,
    private readonly trust: TrustContext,
    private readonly log: Logger,
  ) {
    store.on('change', ({ after, local }) => {
      if (!local) this.checkSynced(after.owner);
    });
    this.opener = new BatchOpener(
      trust.certificates,
      (owner) => this.isMember(owner),
      (record) => {
        const current = store.get(record.owner, recordKey(record.body));
        return !current || newer(record.version, current.version);
      },
    );
    this.bundles = new RecordBundles(store, trust.signer, trust.certificates);
  }

  // Called once, after the first anti-entropy exchange has brought every owner we asked a peer for
  // up to what that peer had: from then on, what we do not have is really gone.
  onSynced(listener: () => void): void {
    if (this.syncedOnce) listener();
    else this.syncedListeners.push(listener);
  }

  private checkSynced(owner: string): void {
    const expected = this.awaited.get(owner);
    if (!expected) return;
    const ours = this.store.summaryOf(owner);
    if (ours && (sameSummary(ours, expected) || newer(ours.maxVersion, expected.maxVersion)))
      this.awaited.delete(owner);
    if (this.awaited.size === 0) this.markSynced();
  }

  private markSynced(): void {
    if (this.syncedOnce) return;
    this.syncedOnce = true;
    for (const l of this.syncedListeners.splice(0)) l();
  }

  // A peer's probes of a member's VTEP go unanswered (a hint, not a verdict: see PathDoubt).
  onPathDoubt(listener: (subject: string) => void): void {
    this.pathDoubtListener = listener;
  }

  attach(cluster: GossipCluster): void {
    this.cluster = cluster;
  }

  // Memberlist handlers.

  onMessage(payload: Buffer): void {
    let message: GossipMessage__Output;
    try {
      message = gossipCodec.decode(payload);
    } catch (err) {
      this.drop('malformed', `undecodable gossip message of ${payload.length} bytes: ${(err as Error).message}`);
      return;
    }
    switch (message.msg) {
      case 'records':
        if (message.records) this.acceptBundle(message.records);
        break;
      case 'digest':
        if (message.digest)
          this.compare(message.digest.node, message.digest.owners, Number(message.digest.configRevision));
        break;
      case 'snapshot':
        this.acceptSnapshot(message.snapshot!);
        break;
      case 'request':
        if (message.request) void this.answerOwnerRequest(message.request.requester, message.request.owners);
        break;
      case 'config':
        if (message.config) this.adoptConfig(message.config);
        break;
      case 'configRequest': {
        const signed = this.config.signed();
        if (signed && message.configRequest && this.config.revision() > Number(message.configRequest.haveRevision))
          void this.send(message.configRequest.requester, { config: signed });
        break;
      }
      case 'pathDoubt':
        if (message.pathDoubt?.subject) this.pathDoubtListener(message.pathDoubt.subject);
        break;
      default:
        this.drop('malformed', 'a gossip message of no known kind');
    }
  }

  private acceptSnapshot(snapshot: NonNullable<GossipMessage__Output['snapshot']>): void {
    if (snapshot.config) this.adoptConfig(snapshot.config);
    if (snapshot.bundle) this.acceptBundle(snapshot.bundle);
    const digest = snapshot.digest;
    if (digest) this.compare(digest.node, digest.owners, Number(digest.configRevision));
  }

  private adoptConfig(config: SignedConfig__Output): void {
    if (this.config.adopt(config) === 'unsigned') this.drop('unsigned-config', 'a configuration from gossip');
  }

  // A join gets everything we hold; periodic push/pulls only the digest.
  localState(join: boolean): Buffer {
    if (!join) return gossipCodec.encode({ digest: this.digest() });
    const owners = this.store.ownerSummaries().map((s) => s.owner);
    const batches = this.bundles.of(owners);
    return gossipCodec.encode({
      snapshot: {
        digest: this.digest(),
        bundle: {
          batches: batches.flatMap((b) => b.batches!),
          certificates: [...new Set(batches.flatMap((b) => b.certificates!))],
        },
        config: this.config.signed(),
      },
    });
  }

  mergeRemoteState(state: Buffer): void {
    this.onMessage(state);
  }

  // A digest to one random live peer: anti-entropy more often than memberlist's push/pull.
  async antiEntropy(): Promise<void> {
    const peers = this.cluster?.peers().filter((p) => p.state === 'alive' && p.name !== this.cluster!.localName) ?? [];
    if (peers.length === 0) return;
    const peer = peers[Math.floor(Math.random() * peers.length)];
    await this.send(peer.name, { digest: this.digest() });
  }

  private digest() {
    return {
      node: this.store.node,
      configRevision: this.config.revision(),
      owners: this.store
        .ownerSummaries()
        .map((s) => ({ owner: s.owner, count: s.count, maxVersion: s.maxVersion, checksum: s.checksum })),
    };
  }

  private acceptBundle(bundle: RecordBundle__Output): void {
    for (const der of bundle.certificates) {
      const learned = this.trust.certificates.learn(der);
      if (typeof learned === 'string') this.drop(learned, 'a certificate in a record bundle');
    }
    for (const batch of bundle.batches) this.acceptBatch(batch, bundle.relay);
  }

  private acceptBatch(batch: SignedRecords__Output, relay: boolean): void {
    const opened = this.opener.open(batch);
    if ('drop' in opened) {
      this.drop(opened.drop, opened.detail);
      if (opened.drop === 'unknown-certificate') this.fetchCertificate(batch.owner);
      return;
    }
    let applied = 0;
    for (const record of opened.records) {
      const result = this.store.merge(record);
      if (result === 'applied') {
        applied++;
        this.counters.applied++;
        this.bundles.remember(this.store.get(record.owner, recordKey(record.body))!, batch);
      } else if (result === 'refuted') {
        this.counters.refuted++;
        this.log.warn('a peer holds a version of our own record we did not issue; refuted it', {
          key: recordKey(record.body),
        });
      } else if (result === 'over-limit') {
        this.drop('owner-limit', `${record.owner} holds as many records as it may`);
      } else if (result === 'implausible') {
        this.drop(
          'implausible-version',
          `${record.owner}/${recordKey(record.body)} at incarnation ${record.version.incarnation}`,
        );
      }
    }
    // Relaying speeds up spread in large clusters and past lost datagrams; under a burst it would
    // only flood the queue with what peers fetch by anti-entropy anyway.
    if (relay && applied > 0 && (this.cluster?.queuedBroadcasts() ?? 0) < RELAY_QUEUE_LIMIT)
      this.broadcast(batch, opened.records);
  }

  private drop(reason: DropReason, detail: string): void {
    this.trust.drops.count(reason);
    // Debug for what a restart or a renewal causes in passing; warn for what only a lie does.
    const quiet = reason === 'unknown-certificate' || reason === 'not-a-member';
    this.log[quiet ? 'debug' : 'warn']('dropped gossip', { reason, detail });
  }

  private isMember(owner: string): boolean {
    return owner === this.store.node || (this.cluster?.isMember(owner) ?? false);
  }

  // Ask the owner itself: it answers with its records and the certificate they are signed with.
  private fetchCertificate(owner: string): void {
    const now = Date.now();
    if (now - (this.certificateFetches.get(owner) ?? 0) < CERTIFICATE_FETCH_INTERVAL_MS) return;
    if (this.certificateFetches.size >= CERTIFICATE_FETCHES_TRACKED) this.certificateFetches.clear();
    this.certificateFetches.set(owner, now);
    void this.send(owner, { request: { owners: [owner], requester: this.store.node } });
  }

  private compare(
    node: string,
    theirs: Array<{
      owner: string;
      count: number;
      maxVersion: { incarnation?: string | number; counter?: string | number } | null;
      checksum: string | number;
    }>,
    configRevision: number,
  ): void {
    if (!node || node === this.store.node) return;
    const wanted: string[] = [];
    for (const t of theirs) {
      const summary: OwnerSummary = {
        owner: t.owner,
        count: Number(t.count),
        maxVersion: {
          incarnation: Number(t.maxVersion?.incarnation ?? 0),
          counter: Number(t.maxVersion?.counter ?? 0),
        },
        checksum: Number(t.checksum),
      };
      const ours = this.store.summaryOf(t.owner);
      if (sameSummary(ours, summary)) continue;
      // Fetch when they may know something we do not; if we are ahead they will ask us. What a
      // peer holds about us is always fetched: records from before our restart must be refuted.
      if (t.owner === this.store.node || !ours || ours.count === 0 || !newer(ours.maxVersion, summary.maxVersion)) {
        wanted.push(t.owner);
        if (!this.syncedOnce && t.owner !== this.store.node) this.awaited.set(t.owner, summary);
      }
    }
    if (!this.syncedOnce && this.awaited.size === 0) this.markSynced();
    if (wanted.length > 0) void this.send(node, { request: { owners: wanted, requester: this.store.node } });
    if (configRevision > this.config.revision())
      void this.send(node, { configRequest: { haveRevision: this.config.revision(), requester: this.store.node } });
  }

  private async answerOwnerRequest(requester: string, owners: string[]): Promise<void> {
    if (!requester) return;
    for (const bundle of this.bundles.of(owners)) await this.send(requester, { records: bundle });
  }

  // Our own changes (one batch from the outbox), signed: pushed to peers at once, since the broadcast
  // queue goes out only on gossip ticks (200 ms on a LAN), so a change is programmed everywhere
  // within a round trip; and queued for gossip as well. Relays only queue, which bounds the fan-out.
  publishOwn(records: StateRecord[]): void {
    const cluster = this.cluster;
    if (!cluster) return;
    const batches = sealInBatches(records, this.trust.signer(), PACKET_RECORD_BYTES);
    const fanout = Math.max(
      MIN_DIRECT_PUSH_FANOUT,
      Math.min(DIRECT_PUSH_FANOUT, Math.floor(DIRECT_PUSH_DATAGRAMS / batches.length)),
    );
    const live = cluster.peers().filter((p) => p.state === 'alive' && p.name !== cluster.localName);
    const peers = shuffled(live).slice(0, fanout);
    // Pushed to every member, a change needs no relays: they would only echo it around the cluster
    // (at 20 hosts, most of the gossip CPU an attach costs). The broadcast still follows, against loss.
    const relay = peers.length < live.length;
    for (const batch of batches) {
      const payload = gossipCodec.encode({ records: { batches: [batch], relay } });
      for (const p of peers) void cluster.sendBestEffort(p.name, payload).catch(() => undefined);
      this.broadcast(batch, undefined);
    }
  }

  // A batch of one record replaces its older versions still queued; larger ones queue on their own.
  private broadcast(batch: SignedRecords | SignedRecords__Output, records: StateRecord[] | undefined): void {
    const single = records?.length === 1 ? `${records[0].owner}/${recordKey(records[0].body)}` : undefined;
    const key = single ?? `${batch.owner}/batch/${Buffer.from(batch.signature as Uint8Array).toString('hex', 0, 16)}`;
    this.cluster?.broadcast(key, gossipCodec.encode({ records: { batches: [batch], relay: true } }));
  }

  private async send(peer: string, message: GossipMessage): Promise<void> {
    if (!this.cluster) return;
    try {
      await this.cluster.sendReliable(peer, gossipCodec.encode(message));
    } catch (err) {
      this.log.debug('gossip send failed; anti-entropy retries later', { peer, error: (err as Error).message });
    }
  }
}
