import type { AttachRequest, AttachedEndpoint } from '../../node-agent/kernel/endpoint-attacher';

// EndpointAttacher's CNI side as a list: what the attacher would have made, no kernel behind it.
export class FakeAttacher {
  readonly endpoints: AttachedEndpoint[] = [];
  failNext: Error | undefined;

  async attach(r: AttachRequest): Promise<AttachedEndpoint> {
    if (this.failNext) throw this.failNext;
    const e: AttachedEndpoint = {
      vni: r.vni,
      netns: r.netns,
      interface: r.interface ?? 'eth0',
      ip: r.ip,
      mac: '02:00:00:00:00:01',
      hostInterface: `vxe-${r.containerId}`,
      ...(r.containerId ? { containerId: r.containerId } : {}),
    };
    this.endpoints.push(e);
    return e;
  }
  async list(): Promise<AttachedEndpoint[]> {
    return [...this.endpoints];
  }
  async findContainer(id: string, iface: string): Promise<AttachedEndpoint | undefined> {
    return this.endpoints.find((e) => e.containerId === id && e.interface === iface);
  }
  async detachContainer(id: string, iface: string): Promise<AttachedEndpoint | undefined> {
    const found = await this.findContainer(id, iface);
    if (found) this.endpoints.splice(this.endpoints.indexOf(found), 1);
    return found;
  }
}
