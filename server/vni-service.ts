import * as grpc from '@grpc/grpc-js';
import type { VniServiceHandlers } from '../generated/vxgossip/v1/VniService';
import type { Logger } from '../common/log';
import type { ErrorMapping } from './grpc-errors';
import { vniInputFromProto, vniToProto } from '../common/vni-proto';
import { KnownVtep, checkMulticastGroup, checkUint64, checkVniId } from '../common/validation';
import type { AgentHub } from './agent-hub';
import { AlreadyExistsError, NotFoundError, StaleRevisionError } from './vni-changes';
import type { VniConfigStore } from './vni-config-store';
import { paginate, sortKey } from './pagination';
import { unary } from './rpc';
import type { EndpointIndex } from './endpoint-index';
import { attachedIn, detachAll, refuseAttached } from './vni-endpoints';

const storeErrors: ErrorMapping = [
  [NotFoundError, grpc.status.NOT_FOUND],
  [AlreadyExistsError, grpc.status.ALREADY_EXISTS],
  [StaleRevisionError, grpc.status.FAILED_PRECONDITION],
];

// The group's family must be the VTEPs': only the server, which knows them, can tell before every
// agent fails to create the device.
function checkGroupFamily(group: string | undefined, vteps: KnownVtep[]): void {
  if (group) checkMulticastGroup('flooding.multicast_group', group, vteps);
}

// `endpoints`: every host's endpoints, of which a delete must not strand the attached ones.
export function vniService(
  store: VniConfigStore,
  hub: AgentHub,
  log: Logger,
  vteps: () => KnownVtep[],
  endpoints: EndpointIndex,
): VniServiceHandlers {
  return {
    CreateVni: unary(log, 'CreateVni', storeErrors, async (req) => {
      const input = vniInputFromProto(req.vni);
      checkGroupFamily(input.multicastGroup, vteps());
      const vni = await store.create(input);
      log.info('vni created', { vni: vni.id, name: vni.name, revision: vni.revision });
      return vniToProto(vni);
    }),
    GetVni: unary(log, 'GetVni', storeErrors, (req) => {
      const vni = store.get(checkVniId(req.id));
      return { vni: vniToProto(vni), nodes: hub.statusOf(vni.id) };
    }),
    ListVnis: unary(log, 'ListVnis', storeErrors, (req) => {
      const { page, nextPageToken } = paginate(store.list(), (v) => sortKey(v.id), req.pageSize, req.pageToken);
      return { vnis: page.map(vniToProto), nextPageToken, revision: store.currentRevision() };
    }),
    UpdateVni: unary(log, 'UpdateVni', storeErrors, async (req) => {
      const expectedRevision = checkUint64('expected_revision', req.expectedRevision);
      const input = vniInputFromProto(req.vni);
      if (req.updatePaths.includes('flooding')) checkGroupFamily(input.multicastGroup, vteps());
      const vni = await store.update(input, req.updatePaths, expectedRevision);
      log.info('vni updated', { vni: vni.id, paths: req.updatePaths, revision: vni.revision });
      return vniToProto(vni);
    }),
    DeleteVni: unary(log, 'DeleteVni', storeErrors, async (req) => {
      const id = store.get(checkVniId(req.id)).id;
      const attached = attachedIn(endpoints, id);
      if (req.cascade) await detachAll(hub, id, attached);
      else refuseAttached(id, attached);
      const revision = await store.delete(id);
      log.info('vni deleted', { vni: id, revision, detached: req.cascade ? attached.length : undefined });
      return { revision, detached: req.cascade ? attached.length : 0 };
    }),
  };
}
