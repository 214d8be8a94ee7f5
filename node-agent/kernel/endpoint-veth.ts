import { createHash } from 'node:crypto';
import { AgentError } from '../agent-errors';
import { shown } from '../../common/validation';
import type { Link, Rtnetlink } from '../netlink';
import type { AttachPoint } from './vni-devices';

// An endpoint's veth, whoever asked for it (ctl endpoint attach, the CNI plugin, the Docker driver): the host side is
// a port of br<VNI> (L2) or routed (L3), and carries an alias with what is needed to find and describe
// the endpoint again after a restart: the kernel, not a file, is the record of attached endpoints, and
// the local endpoint scan announces every veth that carries one.
const ALIAS_PREFIX = 'vxgossip:ep ';
// IFALIASZ: the kernel refuses a longer alias (ERANGE), so a name that would not fit is refused first.
const ALIAS_MAX_BYTES = 255;

export interface AttachedEndpoint {
  vni: number;
  // Where the workload is: a named namespace (ctl), the path a CNI runtime gave, or the holder's own
  // label (docker:…).
  netns: string;
  interface: string;
  ip: string;
  mac: string;
  // The host side of the veth.
  hostInterface: string;
  // Attached by the CNI plugin: the runtime's container ID, which DEL and GC find it by.
  containerId?: string;
}

const encodeAlias = (e: AttachedEndpoint) =>
  `${ALIAS_PREFIX}${JSON.stringify({ vni: e.vni, netns: e.netns, if: e.interface, ip: e.ip, mac: e.mac, cni: e.containerId })}`;

export function endpointOfLink(link: Link): AttachedEndpoint | undefined {
  if (!link.alias?.startsWith(ALIAS_PREFIX)) return undefined;
  try {
    const a = JSON.parse(link.alias.slice(ALIAS_PREFIX.length)) as {
      vni: number;
      netns: string;
      if: string;
      ip: string;
      mac: string;
      cni?: string;
    };
    const endpoint = { vni: a.vni, netns: a.netns, interface: a.if, ip: a.ip, mac: a.mac, hostInterface: link.name };
    return a.cni === undefined ? endpoint : { ...endpoint, containerId: a.cni };
  } catch {
    return undefined;
  }
}

export function checkAliasFits(endpoint: AttachedEndpoint, field: string): void {
  if (Buffer.byteLength(encodeAlias(endpoint)) > ALIAS_MAX_BYTES)
    throw new AgentError(
      'invalid-argument',
      `${field}: ${shown(endpoint.netns)} is too long to record the endpoint in its veth's alias (${ALIAS_MAX_BYTES} bytes in all, with any container ID); use a shorter name`,
    );
}

// Deterministic, so a retried attach names the same devices; a 3-letter prefix + 10 hex digits fits in 15 bytes.
export function vethName(prefix: string, ...parts: Array<string | number>): string {
  return `${prefix}${createHash('sha1').update(parts.join('/')).digest('hex').slice(0, 10)}`;
}

// A locally administered unicast MAC derived from the node and the endpoint.
export function generatedMac(node: string, ...parts: Array<string | number>): string {
  const bytes = createHash('sha1')
    .update([node, ...parts].join('/'))
    .digest()
    .subarray(0, 6);
  bytes[0] = (bytes[0] & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export interface VethPeer {
  name: string;
  // The namespace the workload's side starts in (an open file descriptor); the host's if unset.
  netnsFd?: number;
}

export class EndpointVeths {
  constructor(
    private readonly rt: Rtnetlink,
    private readonly node: string,
  ) {}

  async list(): Promise<AttachedEndpoint[]> {
    return (await this.rt.links.list()).map(endpointOfLink).filter((e): e is AttachedEndpoint => e !== undefined);
  }

  // The device an endpoint of this VNI plugs into; refused while the VNI is not realised here.
  async attachDevice(vni: number, point: AttachPoint | undefined): Promise<{ point: AttachPoint; device: Link }> {
    const device = point && (await this.rt.links.get(point.device));
    if (!point || !device)
      throw new AgentError(
        'failed-precondition',
        `VNI ${vni} is not realised on ${this.node}: create the VNI first, or check the agent's status (ctl vni show ${vni})`,
      );
    return { point, device };
  }

  // Creates the veth, lets `configurePeer` set up the workload's side, then plugs the host side in
  // and records the endpoint in its alias; on any failure, removes the veth again.
  async create(
    endpoint: AttachedEndpoint,
    point: AttachPoint,
    device: Link,
    peer: VethPeer,
    configurePeer: () => Promise<void>,
  ): Promise<void> {
    const { hostInterface } = endpoint;
    await this.rt.links.create({
      name: hostInterface,
      kind: 'veth',
      mtu: device.mtu,
      peer: { name: peer.name, netnsFd: peer.netnsFd, mtu: device.mtu },
    });
    try {
      await configurePeer();
      const host = (await this.rt.links.get(hostInterface))!;
      // Routed (L3): the host side stays out of any bridge; the VNI's routes and rules carry the traffic.
      await this.rt.links.change(host, {
        master: point.routed ? undefined : device.index,
        up: true,
        alias: encodeAlias(endpoint),
      });
    } catch (err) {
      // Never leave half an endpoint behind.
      await this.remove(hostInterface).catch(() => undefined);
      throw err;
    }
  }

  // Deleting one side deletes both. False when there was no such veth.
  async remove(hostInterface: string): Promise<boolean> {
    const link = await this.rt.links.get(hostInterface);
    if (!link) return false;
    await this.rt.links.delete(link);
    return true;
  }
}
