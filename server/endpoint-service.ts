import * as grpc from '@grpc/grpc-js';
import type { EndpointServiceHandlers } from '../generated/vxgossip/v1/EndpointService';
import type { EndpointFilter__Output } from '../generated/vxgossip/v1/EndpointFilter';
import type { Logger } from '../common/log';
import { agentRoutedRpcs } from './endpoint-commands';
import { RpcError } from './grpc-errors';
import { KnownVtep, checkUnicastMac, checkVniId } from '../common/validation';
import type { EndpointRecord } from '../common/fdb-state/winner-rule';
import type { AgentHub } from './agent-hub';
import type { RecordStore, ReplicaChange } from './record-store';
import type { EndpointEvent } from '../generated/vxgossip/v1/EndpointEvent';
import type { FdbEvent } from '../generated/vxgossip/v1/FdbEvent';
import type { VniConfigStore } from './vni-config-store';
import type { BlockStore } from './ipam/block-store';
import { Filter, endpointOf, keyRangeOf, matches } from './endpoint-filter';
import { FdbChange, FdbIndex, Served, entryOf } from './fdb-index';
import type { FdbEntry } from '../generated/vxgossip/v1/FdbEntry';
import type { EndpointIndex } from './endpoint-index';
import { pageOfIndex } from './pagination';
import { unary } from './rpc';
import { serveWatch } from './watch-stream';

function filterOf(f: EndpointFilter__Output | null): Filter {
  const filter = { vni: f?.vni ?? 0, node: f?.node ?? '', mac: f?.mac ?? '' };
  if (filter.vni !== 0) checkVniId(filter.vni, 'filter.vni');
  if (filter.mac !== '') filter.mac = checkUnicastMac('filter.mac', filter.mac);
  return filter;
}

const isFlood = (e: FdbEntry) => e.kind === 'FDB_ENTRY_KIND_FLOOD';
const fdbMatches = (f: Filter, e: FdbEntry) => matches(f, e.vni!, e.node!, isFlood(e) ? undefined : e.mac);

const ifDefined = <T, U>(value: T | undefined, then: (value: T) => U) =>
  value === undefined ? undefined : then(value);

// One record change as an endpoint watcher with this filter sees it.
function endpointEventFor(c: ReplicaChange, f: Filter): EndpointEvent | undefined {
  if (c.after.body.kind !== 'endpoint' || !matches(f, c.after.body.vni, c.after.owner, c.after.body.mac))
    return undefined;
  const type = c.after.tombstone
    ? 'EVENT_TYPE_REMOVED'
    : c.before && !c.before.tombstone
      ? 'EVENT_TYPE_UPDATED'
      : 'EVENT_TYPE_ADDED';
  return { type, endpoint: endpointOf(c.after as EndpointRecord), revision: c.revision };
}

// One derived FDB change as a watcher with this filter sees it: a MAC that moves out of the filter
// (to another node) is a removal for it, one that moves in an addition.
function fdbEventFor(c: FdbChange, f: Filter): FdbEvent | undefined {
  const before = c.before && fdbMatches(f, c.before) ? c.before : undefined;
  const after = c.after && fdbMatches(f, c.after) ? c.after : undefined;
  if (after) return { type: before ? 'EVENT_TYPE_UPDATED' : 'EVENT_TYPE_ADDED', entry: after, revision: c.revision };
  if (before) return { type: 'EVENT_TYPE_REMOVED', entry: before, revision: c.revision };
  return undefined;
}

// The indexes the endpoint API reads.
export interface EndpointViews {
  replicas: RecordStore;
  endpoints: EndpointIndex;
  fdb: FdbIndex;
}

export function endpointService(
  views: EndpointViews,
  hub: AgentHub,
  vnis: VniConfigStore,
  log: Logger,
  nodes: { live: (owner: string) => boolean; vteps: () => KnownVtep[]; blocks: BlockStore },
): EndpointServiceHandlers {
  const { replicas, fdb: fdbIndex } = views;
  // An endpoint as a listing with this filter shows it: only of owners not known to be dead.
  const endpointIn = (f: Filter) => (r: EndpointRecord) =>
    nodes.live(r.owner) && matches(f, r.body.vni, r.owner, r.body.mac) ? endpointOf(r) : undefined;
  const entryIn = (f: Filter, includeFlood: boolean) => (s: Served) => {
    const e = entryOf(s);
    return fdbMatches(f, e) && (includeFlood || !isFlood(e)) ? e : undefined;
  };
  const endpointSource = {
    currentRevision: () => replicas.currentRevision(),
    oldestResumableRevision: () => replicas.oldestResumableRevision(),
    changesAfter: (revision: number, limit: number) => replicas.changesAfter(revision, limit),
    countChangesAfter: (revision: number) => replicas.countChangesAfter(revision),
    snapshot: () => views.endpoints.snapshot(),
    on: (event: 'change', listener: (c: ReplicaChange) => void) => replicas.on(event, listener),
    off: (event: 'change', listener: (c: ReplicaChange) => void) => replicas.off(event, listener),
  };

  return {
    ListEndpoints: unary(log, 'ListEndpoints', [], (req) => {
      const f = filterOf(req.filter);
      const index = views.endpoints.sorted();
      const { page, nextPageToken } = pageOfIndex(index, keyRangeOf(f), endpointIn(f), req.pageSize, req.pageToken);
      return { endpoints: page, nextPageToken, revision: replicas.currentRevision() };
    }),
    ListFdb: unary(log, 'ListFdb', [], (req) => {
      const f = filterOf(req.filter);
      const select = entryIn(f, req.includeFlood);
      const { page, nextPageToken } = pageOfIndex(
        fdbIndex.sorted(),
        keyRangeOf(f),
        select,
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
      const f = filterOf(call.request.filter);
      const endpoint = endpointIn(f);
      serveWatch(call, call.request.fromRevision, endpointSource, keyRangeOf(f), {
        changeEvent: (c: ReplicaChange) => endpointEventFor(c, f),
        snapshotEvent: (r: EndpointRecord, revision): EndpointEvent | undefined =>
          ifDefined(endpoint(r), (e) => ({ type: 'EVENT_TYPE_SNAPSHOT', endpoint: e, revision })),
      });
    },
    WatchFdb(call) {
      const f = filterOf(call.request.filter);
      const entry = entryIn(f, true);
      serveWatch(call, call.request.fromRevision, fdbIndex, keyRangeOf(f), {
        changeEvent: (c: FdbChange) => fdbEventFor(c, f),
        snapshotEvent: (s: Served, revision): FdbEvent | undefined =>
          ifDefined(entry(s), (e) => ({ type: 'EVENT_TYPE_SNAPSHOT', entry: e, revision })),
      });
    },
    ListDuplicates: unary(log, 'ListDuplicates', [], (req) => {
      const f = filterOf(req.filter);
      const duplicates = fdbIndex
        .duplicates()
        .filter((d) => d.claims.some((c) => matches(f, c.body.vni, c.owner, c.body.mac)))
        .map((d) => ({ entry: d.entry, claims: d.claims.map(endpointOf) }));
      return { duplicates, revision: fdbIndex.currentRevision() };
    }),
    ...agentRoutedRpcs(hub, vnis, log, nodes, (vni, mac) => fdbIndex.lookup(vni, mac)?.node),
  };
}
