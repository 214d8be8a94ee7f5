import { shown } from '../../common/validation';
import type { Logger } from '../../common/log';
import {
  AddRequest,
  Attachment,
  AttachmentKey,
  CNI_CODES,
  CNI_HANDLE_PREFIX,
  CheckRequest,
  CniError,
  GcAnswer,
  GcRequest,
  StatusAnswer,
  ipamHandle,
} from '../../common/cni/protocol';
import type { HostIpam } from '../ipam/host-ipam';
import type { AttachedEndpoint, EndpointAttacher } from '../kernel/endpoint-attacher';
import type { AttachPoint } from '../kernel/vni-devices';

// What CHECK reads of the container's interface inside its namespace.
export interface InsideInterface {
  mac: string | undefined;
  up: boolean;
  // address/prefix-length
  addresses: string[];
}

export interface CniAttachmentsDeps {
  attacher: Pick<EndpointAttacher, 'attach' | 'list' | 'findContainer' | 'detachContainer'>;
  // The agent's address management; undefined until it has one.
  ipam: HostIpam;
  attachPoint: (vni: number) => AttachPoint | undefined;
  hostLink: (name: string) => Promise<{ mac?: string; mtu: number } | undefined>;
  inside: (netns: string, ifname: string) => Promise<InsideInterface | undefined>;
  // Runs a reconcile pass and waits for it: an ADD returns once the endpoint is announced.
  settle: () => Promise<void>;
  readiness: () => { ready: boolean; checks: Record<string, string> };
  log: Logger;
}

// HostIpam's failures (AgentError kinds) as CNI codes.
const IPAM_CODES: Record<string, number> = {
  'not-found': CNI_CODES.invalidConfig,
  'failed-precondition': CNI_CODES.invalidConfig,
  'resource-exhausted': CNI_CODES.addressesExhausted,
  unavailable: CNI_CODES.tryAgainLater,
};
// The attacher's: a VNI not realised yet clears up by itself.
const ATTACH_CODES: Record<string, number> = {
  'failed-precondition': CNI_CODES.tryAgainLater,
  'not-found': CNI_CODES.unknownContainer,
  'invalid-argument': CNI_CODES.invalidConfig,
};

function asCniError(err: unknown, codes: Record<string, number>, what: string): CniError {
  if (err instanceof CniError) return err;
  const kind = (err as { kind?: string }).kind;
  const code = (kind !== undefined && codes[kind]) || CNI_CODES.agentFailed;
  return new CniError(code, `${what}: ${(err as Error).message}`);
}

// The agent's side of the CNI plugin: attachments of containers to VNIs, their addresses from
// HostIpam under the handle cni/<container ID>/<interface>, the veth made by the same attacher as
// ctl endpoint attach (so the endpoint is announced like any other).
export class CniAttachments {
  constructor(private readonly deps: CniAttachmentsDeps) {}

  async add(request: AddRequest): Promise<Attachment> {
    const { vni, containerId, ifname, netns } = request;
    const point = this.attachPointOf(vni);
    const existing = await this.deps.attacher.findContainer(containerId, ifname);
    if (existing) {
      if (existing.vni !== vni)
        throw new CniError(
          CNI_CODES.agentFailed,
          `container ${containerId} already has ${ifname} attached to VNI ${existing.vni}; delete that attachment first`,
        );
      return this.describe(existing, point);
    }
    const { ipam } = this.deps;
    const handle = ipamHandle(containerId, ifname);
    const address = await ipam.allocate({ vni, handle }).catch((err: Error) => {
      throw asCniError(err, IPAM_CODES, `no address for ${handle} in VNI ${vni}`);
    });
    let endpoint: AttachedEndpoint;
    try {
      endpoint = await this.deps.attacher.attach({ vni, netns, ip: address.ip, interface: ifname, containerId });
    } catch (err) {
      // The address goes back: the runtime calls DEL after a failed ADD, but may not.
      await ipam.release(vni, handle).catch(() => false);
      throw asCniError(err, ATTACH_CODES, `cannot attach ${ifname} of container ${containerId} to VNI ${vni}`);
    }
    await this.deps.settle();
    this.deps.log.info('container attached', { vni, containerId, ifname, ip: endpoint.ip, netns });
    return this.describe(endpoint, point);
  }

  // Idempotent: an attachment that is not there (any more) is a success.
  async del(key: AttachmentKey): Promise<void> {
    const { vni, containerId, ifname } = key;
    const removed = await this.deps.attacher.detachContainer(containerId, ifname);
    const released = await this.deps.ipam.release(vni, ipamHandle(containerId, ifname));
    if (removed || released) {
      await this.deps.settle();
      this.deps.log.info('container detached', { vni, containerId, ifname, released });
    }
  }

  async check(request: CheckRequest): Promise<void> {
    const { vni, containerId, ifname, netns } = request;
    const failed = (why: string) => new CniError(CNI_CODES.checkFailed, `${containerId}/${ifname}: ${why}`);
    const endpoint = await this.deps.attacher.findContainer(containerId, ifname);
    if (!endpoint)
      throw new CniError(CNI_CODES.unknownContainer, `no attachment of ${containerId}/${ifname} on this host`);
    if (endpoint.vni !== vni) throw failed(`attached to VNI ${endpoint.vni}, not ${vni}`);
    if (request.ip !== undefined && request.ip !== endpoint.ip)
      throw failed(`has ${endpoint.ip}, the runtime's result says ${shown(request.ip)}`);
    const allocated = this.deps.ipam.allocated(vni).find((a) => a.handle === ipamHandle(containerId, ifname));
    if (allocated?.ip !== endpoint.ip)
      throw failed(
        `its address ${endpoint.ip} is not allocated to it (address management has ${allocated?.ip ?? 'none'})`,
      );
    if (!(await this.deps.hostLink(endpoint.hostInterface)))
      throw failed(`the host side ${endpoint.hostInterface} is gone`);
    const inside = await this.deps.inside(netns, ifname);
    if (!inside) throw failed(`no interface ${ifname} in ${netns}`);
    if (!inside.up) throw failed(`${ifname} is down`);
    if (inside.mac !== endpoint.mac) throw failed(`${ifname} has MAC ${inside.mac}, expected ${endpoint.mac}`);
    if (request.mac !== undefined && request.mac !== endpoint.mac)
      throw failed(`has MAC ${endpoint.mac}, the runtime's result says ${shown(request.mac)}`);
    if (!inside.addresses.includes(endpoint.ip)) throw failed(`${ifname} lacks its address ${endpoint.ip}`);
  }

  // Releases every attachment of the VNI made through CNI that the runtime does not list.
  async gc(request: GcRequest): Promise<GcAnswer> {
    const { vni } = request;
    const valid = new Set(request.valid.map((v) => `${v.containerId}/${v.ifname}`));
    const stale = new Set<string>();
    for (const e of await this.deps.attacher.list()) {
      if (e.vni !== vni || e.containerId === undefined || valid.has(`${e.containerId}/${e.interface}`)) continue;
      await this.deps.attacher.detachContainer(e.containerId, e.interface);
      stale.add(`${e.containerId}/${e.interface}`);
    }
    const { ipam } = this.deps;
    for (const a of ipam.allocated(vni)) {
      const key = a.handle.slice(CNI_HANDLE_PREFIX.length);
      if (!a.handle.startsWith(CNI_HANDLE_PREFIX) || valid.has(key)) continue;
      await ipam.release(vni, a.handle);
      stale.add(key);
    }
    if (stale.size > 0) {
      await this.deps.settle();
      this.deps.log.info('garbage-collected container attachments', { vni, released: [...stale] });
    }
    return { released: stale.size };
  }

  status(): StatusAnswer {
    // Not the host's readiness: a VNI that cannot be realised must not stop containers on the others.
    const { checks } = this.deps.readiness();
    const reasons = ['kernel', 'gossip'].filter((k) => checks[k] !== 'ok').map((k) => `${k}: ${checks[k]}`);
    return { ready: reasons.length === 0, reasons };
  }

  private attachPointOf(vni: number): AttachPoint {
    const point = this.deps.attachPoint(vni);
    if (!point)
      throw new CniError(
        CNI_CODES.invalidConfig,
        `VNI ${vni} is not configured in the cluster (or its configuration has not reached this host): create it with ctl vni create ${vni}`,
      );
    return point;
  }

  private async describe(e: AttachedEndpoint, point: AttachPoint): Promise<Attachment> {
    const host = await this.deps.hostLink(e.hostInterface);
    return {
      hostInterface: e.hostInterface,
      ...(host?.mac ? { hostMac: host.mac } : {}),
      ifname: e.interface,
      mac: e.mac,
      netns: e.netns,
      ip: e.ip,
      ...(point.routed ? { gateway: point.routed.gateway } : {}),
      mtu: host?.mtu ?? 0,
    };
  }
}
