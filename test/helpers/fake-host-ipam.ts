import * as ipaddr from 'ipaddr.js';
import { AgentError } from '../../node-agent/agent-errors';
import type { HostIpam, IpamAddress, IpamRequest } from '../../node-agent/ipam/host-ipam';

// HostIpam for unit tests of what uses it (the Docker drivers, the CNI service): IPv4 only, addresses
// handed out in order from the subnet's host address `first` (the first host address is the gateway),
// at most `capacity` per VNI as the real one's blocks would, failing with the contract's error kinds.
export class FakeHostIpam implements HostIpam {
  private readonly held = new Map<string, IpamAddress>();
  // Handles released, in order.
  readonly released: string[] = [];

  constructor(
    private readonly subnetOf: (vni: number) => string | undefined,
    private readonly capacity = 250,
    private readonly first = 2,
  ) {}

  allocate(request: IpamRequest): Promise<IpamAddress> {
    const key = `${request.vni}/${request.handle}`;
    const existing = this.held.get(key);
    if (existing) return Promise.resolve(existing);
    const subnet = this.subnetOf(request.vni);
    if (!subnet) return Promise.reject(new AgentError('not-found', `no VNI ${request.vni}`));
    const [network, prefix] = subnet.split('/');
    const base = ipaddr.IPv4.parse(network).toByteArray();
    const taken = new Set(this.allocated(request.vni).map((a) => a.ip));
    const at = (n: number) => `${base.slice(0, 3).join('.')}.${base[3] + n}/${prefix}`;
    const wanted = request.ip ? `${request.ip.split('/')[0]}/${prefix}` : undefined;
    let ip = wanted && !taken.has(wanted) ? wanted : undefined;
    // The broadcast address is not handed out either.
    const end = Math.min(this.first + this.capacity, 2 ** (32 - Number(prefix)) - 1);
    for (let n = this.first; !ip && n < end; n++) if (!taken.has(at(n))) ip = at(n);
    if (!ip)
      return Promise.reject(
        new AgentError('resource-exhausted', `no free address in VNI ${request.vni}: this host's blocks are exhausted`),
      );
    const address = { vni: request.vni, handle: request.handle, ip, gateway: at(1).split('/')[0] };
    this.held.set(key, address);
    return Promise.resolve(address);
  }

  release(vni: number, handle: string): Promise<boolean> {
    const had = this.held.delete(`${vni}/${handle}`);
    if (had) this.released.push(handle);
    return Promise.resolve(had);
  }

  allocated(vni?: number): IpamAddress[] {
    return [...this.held.values()].filter((a) => vni === undefined || a.vni === vni);
  }
}
