import * as grpc from '@grpc/grpc-js';
import type { EndpointServiceHandlers } from '../generated/vxgossip/v1/EndpointService';
import type { EndpointFilter__Output } from '../generated/vxgossip/v1/EndpointFilter';
import type { CommandResult__Output } from '../generated/vxgossip/v1/CommandResult';
import type { Logger } from '../common/log';
import { RpcError } from '../common/grpc-errors';
import { checkInterfaceName, checkNodeName, checkUnicastMac, checkVniId, parseCidr } from '../common/validation';
import type { EndpointRecord } from '../common/fdb-state/mobility';
import type { AgentHub } from './agent-hub';
import type { ReplicaChange, ReplicaStore } from './replica-store';
import type { EndpointEvent } from '../generated/vxgossip/v1/EndpointEvent';
import type { FdbEvent } from '../generated/vxgossip/v1/FdbEvent';
import { NotFoundError, VniStore } from './vni-store';
import { Filter, deriveFdb, endpointKey, endpointOf, fdbKey, matches } from './fdb-derivation';
import { paginate } from './pagination';
import { unary } from './rpc';

function filterOf(f: EndpointFilter__Output | null): Filter {
  const filter = { vni: f?.vni ?? 0, node: f?.node ?? '', mac: f?.mac ?? '' };
  if (filter.vni !== 0) checkVniId(filter.vni, 'filter.vni');
  if (filter.mac !== '') filter.mac = checkUnicastMac('filter.mac', filter.mac);
  return filter;
}

function commandOutcome(node: string, result: CommandResult__Output): CommandResult__Output {
  if (result.error) throw new RpcError(result.code || grpc.status.INTERNAL, `${node}: ${result.error}`);
  return result;
}

export function endpointService(replicas: ReplicaStore, hub: AgentHub, vnis: VniStore, log: Logger): EndpointServiceHandlers {
  const live = (owner: string) => {
    const state = hub.gossipState(owner);
    return state !== 'NODE_STATE_DEAD' && state !== 'NODE_STATE_LEFT';
  };
  const endpoints = (f: Filter) =>
    replicas
      .all()
      .filter((r): r is EndpointRecord => !r.tombstone && r.body.kind === 'endpoint' && live(r.owner) && matches(f, r.body.vni, r.owner, (r.body as { mac: string }).mac))
      .map(endpointOf)
      .sort((a, b) => endpointKey(a).localeCompare(endpointKey(b)));
  const fdb = (f: Filter, includeFlood: boolean) =>
    deriveFdb(replicas.all(), live).filter((e) => matches(f, e.vni!, e.node!, e.kind === 'FDB_ENTRY_KIND_FLOOD' ? undefined : e.mac) && (includeFlood || e.kind !== 'FDB_ENTRY_KIND_FLOOD'));

  return {
    ListEndpoints: unary(log, 'ListEndpoints', [], (req) => {
      const { page, nextPageToken } = paginate(endpoints(filterOf(req.filter)), endpointKey, req.pageSize, req.pageToken);
      return { endpoints: page, nextPageToken, revision: replicas.currentRevision() };
    }),
    ListFdb: unary(log, 'ListFdb', [], (req) => {
      const { page, nextPageToken } = paginate(fdb(filterOf(req.filter), req.includeFlood), fdbKey, req.pageSize, req.pageToken);
      return { entries: page, nextPageToken, revision: replicas.currentRevision() };
    }),
    LookupFdb: unary(log, 'LookupFdb', [], (req) => {
      const vni = checkVniId(req.vni, 'vni');
      const mac = checkUnicastMac('mac', req.mac);
      const entry = fdb({ vni, node: '', mac }, false)[0];
      if (!entry) throw new RpcError(grpc.status.NOT_FOUND, `no host announces ${mac} in VNI ${vni}`);
      return entry;
    }),
    WatchEndpoints(call) {
      watch(call, filterOf(call.request.filter), Number(call.request.fromRevision), replicas, (c, f): EndpointEvent | undefined => {
        if (c.after.body.kind !== 'endpoint' || !matches(f, c.after.body.vni, c.after.owner, c.after.body.mac)) return undefined;
        return { type: c.after.tombstone ? 'EVENT_TYPE_REMOVED' : c.before && !c.before.tombstone ? 'EVENT_TYPE_UPDATED' : 'EVENT_TYPE_ADDED', endpoint: endpointOf(c.after as EndpointRecord), revision: c.revision };
      }, (f) => endpoints(f).map((endpoint): EndpointEvent => ({ type: 'EVENT_TYPE_SNAPSHOT', endpoint, revision: replicas.currentRevision() })));
    },
    WatchFdb(call) {
      // FDB entries derive from several records (a move changes two claims), so every change
      // re-derives the entries of the affected MAC or VNI membership.
      watch(call, filterOf(call.request.filter), Number(call.request.fromRevision), replicas, (c, f): FdbEvent | undefined => {
        const body = c.after.body;
        if (!matches(f, body.vni, c.after.owner, body.kind === 'endpoint' ? body.mac : undefined)) return undefined;
        const entry = body.kind === 'endpoint' ? fdb({ vni: body.vni, node: '', mac: body.mac }, false)[0] : undefined;
        if (body.kind === 'membership') {
          return {
            type: c.after.tombstone ? 'EVENT_TYPE_REMOVED' : 'EVENT_TYPE_ADDED',
            entry: { vni: body.vni, mac: '00:00:00:00:00:00', vtep: body.vtep, node: c.after.owner, kind: 'FDB_ENTRY_KIND_FLOOD', version: c.after.version },
            revision: c.revision,
          };
        }
        if (!entry) return { type: 'EVENT_TYPE_REMOVED', entry: { vni: body.vni, mac: body.mac, vtep: body.vtep, node: c.after.owner, kind: 'FDB_ENTRY_KIND_UNICAST' }, revision: c.revision };
        return { type: c.before && !c.before.tombstone ? 'EVENT_TYPE_UPDATED' : 'EVENT_TYPE_ADDED', entry, revision: c.revision };
      }, (f) => fdb(f, true).map((entry): FdbEvent => ({ type: 'EVENT_TYPE_SNAPSHOT', entry, revision: replicas.currentRevision() })));
    },
    AttachEndpoint: unary(log, 'AttachEndpoint', [[NotFoundError, grpc.status.NOT_FOUND]], async (req) => {
      const node = checkNodeName('node', req.node);
      const vni = checkVniId(req.vni, 'vni');
      vnis.get(vni);
      parseCidr('ip', req.ip);
      if (req.mac) checkUnicastMac('mac', req.mac);
      if (req.interface) checkInterfaceName('interface', req.interface);
      if (!req.netns) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'netns: name the network namespace to attach');
      const result = commandOutcome(node, await hub.sendCommand(node, { attach: req }));
      log.info('endpoint attached', { node, vni, netns: req.netns, mac: result.endpoint?.mac });
      return result.endpoint!;
    }),
    DetachEndpoint: unary(log, 'DetachEndpoint', [], async (req) => {
      const node = checkNodeName('node', req.node);
      checkVniId(req.vni, 'vni');
      if (!req.netns) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'netns: name the network namespace to detach');
      commandOutcome(node, await hub.sendCommand(node, { detach: req }));
      log.info('endpoint detached', { node, vni: req.vni, netns: req.netns });
      return {};
    }),
  };
}

// Snapshot (or the changes since a revision still held), then live changes, in revision order.
function watch<Event>(
  call: grpc.ServerWritableStream<unknown, Event>,
  filter: Filter,
  fromRevision: number,
  replicas: ReplicaStore,
  toEvent: (c: ReplicaChange, f: Filter) => Event | undefined,
  snapshot: (f: Filter) => Event[],
): void {
  if (fromRevision > 0 && fromRevision < replicas.oldestResumableRevision()) {
    call.destroy({ code: grpc.status.OUT_OF_RANGE, details: `revision ${fromRevision} was compacted (oldest resumable: ${replicas.oldestResumableRevision()}); watch again without from_revision` } as grpc.ServiceError);
    return;
  }
  const onReplicaChange = (c: ReplicaChange) => {
    const event = toEvent(c, filter);
    if (event) call.write(event);
  };
  if (fromRevision > 0) for (const c of replicas.changesSince(fromRevision)) onReplicaChange(c);
  else {
    for (const e of snapshot(filter)) call.write(e);
    call.write({ type: 'EVENT_TYPE_SNAPSHOT_END', revision: replicas.currentRevision() } as Event);
  }
  replicas.on('change', onReplicaChange);
  const stop = () => replicas.off('change', onReplicaChange);
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
}
