import * as grpc from '@grpc/grpc-js';
import type { EndpointServiceHandlers } from '../generated/vxgossip/v1/EndpointService';
import type { EndpointFilter__Output } from '../generated/vxgossip/v1/EndpointFilter';
import type { Logger } from '../common/log';
import { agentRoutedRpcs } from './endpoint-commands';
import { RpcError } from './grpc-errors';
import { KnownVtep, checkUint64, checkUnicastMac, checkVniId } from '../common/validation';
import type { EndpointRecord } from '../common/fdb-state/winner-rule';
import type { StateRecord } from '../common/fdb-state/record';
import type { AgentHub } from './agent-hub';
import type { ReplicaChange, ReplicaStore } from './replica-store';
import type { EndpointEvent } from '../generated/vxgossip/v1/EndpointEvent';
import type { FdbEvent } from '../generated/vxgossip/v1/FdbEvent';
import type { VniStore } from './vni-store';
import { Filter, endpointKey, endpointOf, fdbKey, matches } from './endpoint-filter';
import type { FdbChange, FdbIndex } from './fdb-index';
import type { FdbEntry } from '../generated/vxgossip/v1/FdbEntry';
import { paginate } from './pagination';
import { endStream, unary } from './rpc';

function filterOf(f: EndpointFilter__Output | null): Filter {
  const filter = { vni: f?.vni ?? 0, node: f?.node ?? '', mac: f?.mac ?? '' };
  if (filter.vni !== 0) checkVniId(filter.vni, 'filter.vni');
  if (filter.mac !== '') filter.mac = checkUnicastMac('filter.mac', filter.mac);
  return filter;
}

const isFlood = (e: FdbEntry) => e.kind === 'FDB_ENTRY_KIND_FLOOD';
const fdbMatches = (f: Filter, e: FdbEntry) => matches(f, e.vni!, e.node!, isFlood(e) ? undefined : e.mac);

// One derived FDB change as a watcher with this filter sees it: a MAC that moves out of the filter
// (to another node) is a removal for it, one that moves in an addition.
function fdbEventFor(c: FdbChange, f: Filter): FdbEvent | undefined {
  const before = c.before && fdbMatches(f, c.before) ? c.before : undefined;
  const after = c.after && fdbMatches(f, c.after) ? c.after : undefined;
  if (after) return { type: before ? 'EVENT_TYPE_UPDATED' : 'EVENT_TYPE_ADDED', entry: after, revision: c.revision };
  if (before) return { type: 'EVENT_TYPE_REMOVED', entry: before, revision: c.revision };
  return undefined;
}

// Every live owner's endpoints that match, in listing order.
function liveEndpoints(replicas: ReplicaStore, live: (owner: string) => boolean, f: Filter) {
  const matching = (r: StateRecord): r is EndpointRecord =>
    !r.tombstone && r.body.kind === 'endpoint' && live(r.owner) && matches(f, r.body.vni, r.owner, r.body.mac);
  return replicas
    .all()
    .filter(matching)
    .map(endpointOf)
    .sort((a, b) => endpointKey(a).localeCompare(endpointKey(b)));
}

// The derived entries that match, in listing order.
function fdbEntries(fdbIndex: FdbIndex, f: Filter, includeFlood: boolean) {
  return fdbIndex
    .list()
    .filter((e) => fdbMatches(f, e) && (includeFlood || !isFlood(e)))
    .sort((a, b) => fdbKey(a).localeCompare(fdbKey(b)));
}

export function endpointService(
  replicas: ReplicaStore,
  fdbIndex: FdbIndex,
  hub: AgentHub,
  vnis: VniStore,
  log: Logger,
  nodes: { live: (owner: string) => boolean; vteps: () => KnownVtep[] },
): EndpointServiceHandlers {
  const { live } = nodes;
  const endpoints = (f: Filter) => liveEndpoints(replicas, live, f);
  const fdb = (f: Filter, includeFlood: boolean) => fdbEntries(fdbIndex, f, includeFlood);

  return {
    ListEndpoints: unary(log, 'ListEndpoints', [], (req) => {
      const { page, nextPageToken } = paginate(
        endpoints(filterOf(req.filter)),
        endpointKey,
        req.pageSize,
        req.pageToken,
      );
      return { endpoints: page, nextPageToken, revision: replicas.currentRevision() };
    }),
    ListFdb: unary(log, 'ListFdb', [], (req) => {
      const { page, nextPageToken } = paginate(
        fdb(filterOf(req.filter), req.includeFlood),
        fdbKey,
        req.pageSize,
        req.pageToken,
      );
      return { entries: page, nextPageToken, revision: replicas.currentRevision() };
    }),
    LookupFdb: unary(log, 'LookupFdb', [], (req) => {
      const vni = checkVniId(req.vni, 'vni');
      const mac = checkUnicastMac('mac', req.mac);
      const entry = fdbIndex.lookup(vni, mac);
      if (!entry) throw new RpcError(grpc.status.NOT_FOUND, `no host announces ${mac} in VNI ${vni}`);
      return entry;
    }),
    WatchEndpoints(call) {
      watch(
        call,
        filterOf(call.request.filter),
        call.request.fromRevision,
        replicas,
        (c: ReplicaChange, f): EndpointEvent | undefined => {
          if (c.after.body.kind !== 'endpoint' || !matches(f, c.after.body.vni, c.after.owner, c.after.body.mac))
            return undefined;
          return {
            type: c.after.tombstone
              ? 'EVENT_TYPE_REMOVED'
              : c.before && !c.before.tombstone
                ? 'EVENT_TYPE_UPDATED'
                : 'EVENT_TYPE_ADDED',
            endpoint: endpointOf(c.after as EndpointRecord),
            revision: c.revision,
          };
        },
        (f) =>
          endpoints(f).map((endpoint): EndpointEvent => ({
            type: 'EVENT_TYPE_SNAPSHOT',
            endpoint,
            revision: replicas.currentRevision(),
          })),
      );
    },
    WatchFdb(call) {
      watch(call, filterOf(call.request.filter), call.request.fromRevision, fdbIndex, fdbEventFor, (f) =>
        fdb(f, true).map((entry): FdbEvent => ({
          type: 'EVENT_TYPE_SNAPSHOT',
          entry,
          revision: fdbIndex.currentRevision(),
        })),
      );
    },
    ListDuplicates: unary(log, 'ListDuplicates', [], (req) => {
      const f = filterOf(req.filter);
      const duplicates = fdbIndex
        .duplicates()
        .filter((d) => d.claims.some((c) => matches(f, c.body.vni, c.owner, c.body.mac)))
        .sort((a, b) => fdbKey(a.entry).localeCompare(fdbKey(b.entry)))
        .map((d) => ({ entry: d.entry, claims: d.claims.map(endpointOf) }));
      return { duplicates, revision: fdbIndex.currentRevision() };
    }),
    ...agentRoutedRpcs(hub, vnis, log, nodes.vteps, (vni, mac) => fdbIndex.lookup(vni, mac)?.node),
  };
}

// Where a watch reads: revisions, the changes still held, and live changes.
interface ChangeSource<Change> {
  currentRevision(): number;
  oldestResumableRevision(): number;
  changesSince(revision: number): Change[];
  on(event: 'change', listener: (c: Change) => void): unknown;
  off(event: 'change', listener: (c: Change) => void): unknown;
}

// Events a watcher may have queued before it is cut off: a client that stopped reading must not
// grow the server without bound; it resumes from the last revision it saw.
const MAX_QUEUED_EVENTS = 100_000;

// Snapshot (or the changes since a revision still held), then live changes, in revision order.
function watch<Change extends { revision: number }, Event>(
  call: grpc.ServerWritableStream<unknown, Event>,
  filter: Filter,
  from: string | number,
  source: ChangeSource<Change>,
  toEvent: (c: Change, f: Filter) => Event | undefined,
  snapshot: (f: Filter) => Event[],
): void {
  const refuse = (code: grpc.status, details: string) => endStream(call, code, details);
  let fromRevision: number;
  try {
    fromRevision = checkUint64('from_revision', from);
  } catch (err) {
    refuse(grpc.status.INVALID_ARGUMENT, (err as Error).message);
    return;
  }
  if (fromRevision > source.currentRevision()) {
    refuse(
      grpc.status.OUT_OF_RANGE,
      `revision ${fromRevision} is ahead of the server's ${source.currentRevision()} (the server restarted); watch again without from_revision`,
    );
    return;
  }
  if (fromRevision > 0 && fromRevision < source.oldestResumableRevision()) {
    refuse(
      grpc.status.OUT_OF_RANGE,
      `revision ${fromRevision} was compacted (oldest resumable: ${source.oldestResumableRevision()}); watch again without from_revision`,
    );
    return;
  }
  let lastSent = fromRevision;
  // Defined before the replay below, which may already cut a slow watcher off.
  const stop = () => source.off('change', onChange);
  const onChange = (c: Change) => {
    const event = toEvent(c, filter);
    if (!event) return;
    if (call.writableLength >= MAX_QUEUED_EVENTS) {
      stop();
      refuse(
        grpc.status.RESOURCE_EXHAUSTED,
        `watcher fell ${MAX_QUEUED_EVENTS} events behind; resume with from_revision ${lastSent}`,
      );
      return;
    }
    lastSent = c.revision;
    call.write(event);
  };
  if (fromRevision > 0) for (const c of source.changesSince(fromRevision)) onChange(c);
  else {
    for (const e of snapshot(filter)) call.write(e);
    lastSent = source.currentRevision();
    call.write({ type: 'EVENT_TYPE_SNAPSHOT_END', revision: lastSent } as Event);
  }
  source.on('change', onChange);
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
}
