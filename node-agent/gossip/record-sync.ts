import type { Logger } from '../../common/log';
import { messageCodec } from './proto-codec';
import { recordFromProto, recordToProto } from '../../common/record-proto';
import { recordKey, StateRecord } from '../../common/fdb-state/record';
import { newer } from '../../common/fdb-state/version';
import type { RecordStore } from '../state/record-store';
import { OwnerSummary, sameSummary } from '../state/owner-summary';
import type { GossipMessage, GossipMessage__Output } from '../../generated/vxgossip/v1/GossipMessage';
import type { VniConfig, VniConfig__Output } from '../../generated/vxgossip/v1/VniConfig';
import type { GossipCluster } from './cluster';
import { shuffled } from './shuffled';

const gossipCodec = messageCodec<GossipMessage, GossipMessage__Output>('vxgossip.v1.GossipMessage');

// Records per reliable message when answering an owner request: bounded so one message stays small.
const RECORDS_PER_REPLY = 5000;
// Peers a change of our own is pushed to directly; relays carry it to the rest.
const DIRECT_PUSH_FANOUT = 32;
// Above this many queued broadcasts, records learned from peers are not relayed.
const RELAY_QUEUE_LIMIT = 256;

// Record batches that fit one UDP packet with room for memberlist's framing.
const PACKET_PAYLOAD = 1200;

function packets(records: StateRecord[]): Buffer[] {
  const out: Buffer[] = [];
  let batch: ReturnType<typeof recordToProto>[] = [];
  let size = 0;
  for (const r of records) {
    const proto = recordToProto(r);
    const bytes = gossipCodec.encode({ records: { records: [proto] } }).length;
    if (batch.length > 0 && size + bytes > PACKET_PAYLOAD) {
      out.push(gossipCodec.encode({ records: { records: batch } }));
      batch = [];
      size = 0;
    }
    batch.push(proto);
    size += bytes;
  }
  if (batch.length > 0) out.push(gossipCodec.encode({ records: { records: batch } }));
  return out;
}

export interface ConfigSource {
  revision(): number;
  snapshot(): VniConfig;
  // A peer holds a newer configuration than ours (the server may be unreachable).
  adopt(config: VniConfig__Output): void;
}

export interface SyncCounters {
  malformed: number;
  rejected: number;
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
  readonly counters: SyncCounters = { malformed: 0, rejected: 0, applied: 0, refuted: 0 };

  constructor(
    private readonly store: RecordStore,
    private readonly config: ConfigSource,
    // The VTEP a peer advertises in its meta, when known: a record whose VTEP contradicts its owner's
    // is a lie (or a bug) and is dropped.
    private readonly vtepOf: (node: string) => string | undefined,
    private readonly log: Logger,
  ) {
    store.on('change', ({ after, local }) => {
      if (!local) this.checkSynced(after.owner);
    });
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

  attach(cluster: GossipCluster): void {
    this.cluster = cluster;
  }

  // Memberlist handlers.

  onMessage(payload: Buffer): void {
    let message: GossipMessage__Output;
    try {
      message = gossipCodec.decode(payload);
    } catch (err) {
      this.counters.malformed++;
      this.log.warn('dropped an undecodable gossip message', { bytes: payload.length, error: (err as Error).message });
      return;
    }
    switch (message.msg) {
      case 'records':
        for (const r of message.records?.records ?? []) this.acceptRecord(r);
        break;
      case 'digest':
        if (message.digest)
          this.compare(message.digest.node, message.digest.owners, Number(message.digest.configRevision));
        break;
      case 'snapshot': {
        for (const r of message.snapshot?.records ?? []) this.acceptRecord(r);
        const digest = message.snapshot?.digest;
        if (digest) this.compare(digest.node, digest.owners, Number(digest.configRevision));
        break;
      }
      case 'request':
        if (message.request) void this.answerOwnerRequest(message.request.requester, message.request.owners);
        break;
      case 'config':
        if (message.config && Number(message.config.revision) > this.config.revision())
          this.config.adopt(message.config);
        break;
      case 'configRequest':
        if (message.configRequest && this.config.revision() > Number(message.configRequest.haveRevision)) {
          void this.send(message.configRequest.requester, { config: this.config.snapshot() });
        }
        break;
      default:
        this.counters.malformed++;
    }
  }

  // A join gets everything we hold; periodic push/pulls only the digest.
  localState(join: boolean): Buffer {
    if (join)
      return gossipCodec.encode({ snapshot: { digest: this.digest(), records: this.allRecords().map(recordToProto) } });
    return gossipCodec.encode({ digest: this.digest() });
  }

  private allRecords(): StateRecord[] {
    return this.store.ownerSummaries().flatMap((s) => this.store.recordsOf(s.owner));
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

  private acceptRecord(proto: NonNullable<GossipMessage__Output['records']>['records'][number]): void {
    let record: StateRecord;
    try {
      record = recordFromProto(proto);
    } catch (err) {
      this.counters.malformed++;
      this.log.warn('dropped an invalid record', { owner: proto.owner, error: (err as Error).message });
      return;
    }
    const advertised = record.owner === this.store.node ? undefined : this.vtepOf(record.owner);
    if (advertised !== undefined && record.body.vtep !== advertised) {
      this.counters.rejected++;
      this.log.warn("rejected a record whose VTEP is not its owner's", {
        owner: record.owner,
        claimed: record.body.vtep,
        advertised,
      });
      return;
    }
    const result = this.store.merge(record);
    if (result === 'applied') {
      this.counters.applied++;
      // Relaying speeds up spread in large clusters; under a bulk load (a full owner fetched by
      // anti-entropy) it would only flood the queue with what peers fetch the same way.
      if ((this.cluster?.queuedBroadcasts() ?? 0) < RELAY_QUEUE_LIMIT) this.broadcast(record);
    } else if (result === 'refuted') {
      this.counters.refuted++;
      this.log.warn('a peer holds a version of our own record we did not issue; refuted it', {
        key: recordKey(record.body),
      });
    }
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
    const records = owners.flatMap((o) => this.store.recordsOf(o));
    for (let i = 0; i < records.length; i += RECORDS_PER_REPLY) {
      await this.send(requester, { records: { records: records.slice(i, i + RECORDS_PER_REPLY).map(recordToProto) } });
    }
  }

  // Our own changes (one batch from the outbox): queued for gossip, and pushed to peers at once as
  // well, since the broadcast queue goes out only on gossip ticks (200 ms on a LAN), so a change is
  // programmed everywhere within a round trip. Relays only queue, which bounds the fan-out.
  publishOwn(records: StateRecord[]): void {
    const cluster = this.cluster;
    if (!cluster) return;
    for (const r of records) this.broadcast(r);
    const peers = shuffled(cluster.peers().filter((p) => p.state === 'alive' && p.name !== cluster.localName)).slice(
      0,
      DIRECT_PUSH_FANOUT,
    );
    for (const payload of packets(records)) {
      for (const p of peers) void cluster.sendBestEffort(p.name, payload).catch(() => undefined);
    }
  }

  private broadcast(record: StateRecord): void {
    this.cluster?.broadcast(
      `${record.owner}/${recordKey(record.body)}`,
      gossipCodec.encode({ records: { records: [recordToProto(record)] } }),
    );
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
