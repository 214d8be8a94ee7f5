import { AgentError } from '../../node-agent/agent-errors';
import type { HostIpam, IpamAddress, IpamRequest } from '../../node-agent/ipam/host-ipam';

// HostIpam for tests of what uses it (the CNI plugin's agent side): each VNI an IPv4 /24 of which the
// first `size` addresses after the gateway are handed out, failing as the contract says.
export class FakeHostIpam implements HostIpam {
  private readonly held = new Map<string, IpamAddress>();
  readonly released: string[] = [];

  constructor(
    // VNI -> its subnet's first three octets, e.g. 42 -> '10.42.0'.
    private readonly subnets: Map<number, string>,
    private readonly size = 10,
  ) {}

  async allocate(request: IpamRequest): Promise<IpamAddress> {
    const { vni, handle } = request;
    const prefix = this.subnets.get(vni);
    if (!prefix) throw new AgentError('not-found', `no VNI ${vni}`);
    const mine = this.held.get(`${vni}/${handle}`);
    if (mine) return mine;
    const taken = new Set(this.allocated(vni).map((a) => a.ip));
    for (let host = 2; host < 2 + this.size; host++) {
      const ip = `${prefix}.${host}/24`;
      if (taken.has(ip)) continue;
      const address = { vni, handle, ip, gateway: `${prefix}.1` };
      this.held.set(`${vni}/${handle}`, address);
      return address;
    }
    throw Object.assign(new Error(`no free address in VNI ${vni} on this host`), { kind: 'resource-exhausted' });
  }

  async release(vni: number, handle: string): Promise<boolean> {
    const had = this.held.delete(`${vni}/${handle}`);
    if (had) this.released.push(handle);
    return had;
  }

  allocated(vni?: number): IpamAddress[] {
    return [...this.held.values()].filter((a) => vni === undefined || a.vni === vni);
  }
}
