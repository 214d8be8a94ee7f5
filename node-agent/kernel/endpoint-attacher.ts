import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentError } from '../agent-errors';
import {
  checkEndpointIp,
  checkInterfaceName,
  checkNetnsName,
  checkUnicastMac,
  checkVniId,
  shown,
} from '../../common/validation';
import { checkNotGateway } from '../../common/l3-subnet';
import type { Logger } from '../../common/log';
import { Rtnetlink } from '../netlink';
import {
  AttachedEndpoint,
  EndpointVeths,
  checkAliasFits,
  endpointOfLink,
  generatedMac,
  vethName,
} from './endpoint-veth';
import type { VniPorts } from './realised-vnis';
import type { AttachPoint } from './vni-devices';

// Named namespaces, as `ip netns` keeps them.
export const NETNS_DIR = '/run/netns';

export type { AttachedEndpoint };

export interface AttachRequest {
  vni: number;
  netns: string;
  ip: string;
  mac?: string;
  interface?: string;
  // CNI: the runtime's container ID; netns is then the path of the container's namespace.
  containerId?: string;
}

// What names an endpoint in its VNI with its interface: its namespace, or for CNI the container ID
// (a runtime's DEL may come without the namespace).
const endpointKey = (netns: string, containerId?: string) => (containerId === undefined ? netns : `cni/${containerId}`);

// `ctl endpoint attach` and the CNI plugin: a veth whose host side is a port of br<VNI> (or routed, for
// an L3 VNI) and whose other side, inside a named namespace or the namespace at a runtime's path,
// carries the endpoint's MAC and address.
export class EndpointAttacher {
  private readonly veths: EndpointVeths;

  constructor(
    private readonly rt: Rtnetlink,
    private readonly node: string,
    private readonly attachPoint: (vni: number) => AttachPoint | undefined,
    private readonly log: Logger,
  ) {
    this.veths = new EndpointVeths(rt, node);
  }

  list(): Promise<AttachedEndpoint[]> {
    return this.veths.list();
  }

  async attach(request: AttachRequest): Promise<AttachedEndpoint> {
    const endpoint = this.endpointOf(request);
    const { vni, interface: iface, hostInterface } = endpoint;
    const wanted = this.attachPoint(vni);
    if (wanted?.routed) checkNotGateway('ip', endpoint.ip, { id: vni, subnet: wanted.routed.subnet });
    const netns =
      request.containerId === undefined ? this.checkNetns(request.netns) : this.checkNetnsPath(request.netns);
    const { point, device } = await this.veths.attachDevice(vni, wanted);

    const existing = (await this.list()).find((e) => e.hostInterface === hostInterface);
    if (existing) {
      if (existing.ip === endpoint.ip && existing.mac === endpoint.mac) return existing;
      throw new AgentError(
        'already-exists',
        `${shown(request.netns)}/${iface} is already attached to VNI ${vni} with ${existing.ip} (${existing.mac}); detach it first`,
      );
    }

    const fd = fs.openSync(netns, 'r');
    const inside = Rtnetlink.open({ netns });
    try {
      if (await inside.links.get(iface))
        throw new AgentError(
          'already-exists',
          `namespace ${shown(request.netns)} already has an interface ${iface}; choose another --interface`,
        );
      await this.veths.create(endpoint, point, device, { name: iface, netnsFd: fd }, () =>
        this.configureInside(inside, endpoint, point),
      );
    } finally {
      inside.close();
      fs.closeSync(fd);
    }
    this.log.info('endpoint attached', { ...endpoint });
    return endpoint;
  }

  // The endpoint's side of the veth: its MAC and address, and for a routed endpoint a default route
  // through the VNI's gateway (the host side answers ARP/ND for it). A routed IPv6 address gets no
  // on-link prefix, so everything goes through the gateway and the host answers ND for it alone, and
  // skips duplicate address detection (the host routes the address to this veth only).
  private async configureInside(inside: Rtnetlink, endpoint: AttachedEndpoint, point: AttachPoint): Promise<void> {
    const peer = (await inside.links.get(endpoint.interface))!;
    await inside.links.change(peer, { mac: endpoint.mac, up: true });
    const v6Routed = point.routed !== undefined && endpoint.ip.includes(':');
    await inside.addresses.add({ ifindex: peer.index, cidr: endpoint.ip, nodad: v6Routed, noPrefixRoute: v6Routed });
    const lo = await inside.links.get('lo');
    if (lo && !lo.up) await inside.links.change(lo, { up: true });
    if (point.routed) {
      const { gateway } = point.routed;
      const dst = gateway.includes(':') ? '::/0' : '0.0.0.0/0';
      await inside.routes.add({ dst, gateway, oif: peer.index, onlink: true });
    }
  }

  // A bridge deleted and created again comes back without its ports: every attached endpoint of a
  // realised L2 VNI whose veth is not (or no longer) a port of its bridge is put back, and up.
  async replug(bridges: VniPorts[]): Promise<void> {
    const bridgeOf = new Map(bridges.map((b) => [b.vni, b.bridgeIndex]));
    for (const link of await this.rt.links.list()) {
      const endpoint = endpointOfLink(link);
      if (!endpoint) continue;
      const bridge = bridgeOf.get(endpoint.vni);
      if (bridge === undefined || (link.master === bridge && link.up)) continue;
      try {
        await this.rt.links.change(link, { master: bridge, up: true });
        this.log.warn('endpoint put back into its bridge', { ...endpoint, bridgeIndex: bridge });
      } catch (err) {
        this.log.error('cannot put an endpoint back into its bridge; it stays cut off', {
          ...endpoint,
          error: (err as Error).message,
        });
      }
    }
  }

  async detach(request: { vni: number; netns: string; interface?: string }): Promise<AttachedEndpoint> {
    const iface = request.interface || 'eth0';
    const found = (await this.list()).find(
      (e) => e.vni === request.vni && e.netns === request.netns && e.interface === iface,
    );
    if (!found)
      throw new AgentError(
        'not-found',
        `no endpoint ${request.netns}/${iface} attached to VNI ${request.vni} on ${this.node}`,
      );
    return this.remove(found);
  }

  private async remove(found: AttachedEndpoint): Promise<AttachedEndpoint> {
    await this.veths.remove(found.hostInterface);
    this.log.info('endpoint detached', { ...found });
    return found;
  }

  // CNI: the endpoint of a container's interface, in any VNI.
  async findContainer(containerId: string, iface: string): Promise<AttachedEndpoint | undefined> {
    return (await this.list()).find((e) => e.containerId === containerId && e.interface === iface);
  }

  // CNI's DEL: the container's endpoint goes if it is there; nothing there is not an error.
  async detachContainer(containerId: string, iface: string): Promise<AttachedEndpoint | undefined> {
    const found = await this.findContainer(containerId, iface);
    if (!found) return undefined;
    return this.remove(found);
  }

  // The endpoint a request describes, every field checked before the kernel sees one.
  private endpointOf(request: AttachRequest): AttachedEndpoint {
    const vni = checkVniId(request.vni, 'vni');
    const iface = checkInterfaceName('interface', request.interface || 'eth0');
    // The server checks the same and more (the VNI's subnet, other hosts' VTEPs); an older server may not.
    const cidr = checkEndpointIp('ip', request.ip);
    const { containerId } = request;
    // A CNI namespace is a path, checked (and opened) as one in attach.
    const netns = containerId === undefined ? checkNetnsName('netns', request.netns) : request.netns;
    const key = endpointKey(netns, containerId);
    const endpoint: AttachedEndpoint = {
      vni,
      netns,
      interface: iface,
      ip: `${cidr.address}/${cidr.prefixLength}`,
      mac: request.mac ? checkUnicastMac('mac', request.mac) : generatedMac(this.node, vni, key, iface),
      hostInterface: vethName('vxe', vni, key, iface),
      ...(containerId === undefined ? {} : { containerId }),
    };
    checkAliasFits(endpoint, 'netns');
    return endpoint;
  }

  private checkNetns(name: string): string {
    const file = path.join(NETNS_DIR, name);
    if (!fs.existsSync(file))
      throw new AgentError(
        'not-found',
        `no network namespace ${shown(name)} on ${this.node} (looked in ${NETNS_DIR}); create it with ip netns add`,
      );
    return file;
  }

  // A runtime's namespace: an absolute path (/run/netns/NAME, /proc/PID/ns/net) that exists; setns
  // tells whether it is a network namespace.
  private checkNetnsPath(file: string): string {
    if (!path.isAbsolute(file) || path.normalize(file) !== file)
      throw new AgentError('invalid-argument', `netns: ${shown(file)} is not a normalised absolute path`);
    if (!fs.existsSync(file))
      throw new AgentError('not-found', `no network namespace at ${shown(file)} on ${this.node}`);
    return file;
  }
}
