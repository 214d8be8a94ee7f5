import type { Rtnetlink } from '../netlink';
import { AttachedEndpoint, EndpointVeths } from '../kernel/endpoint-veth';
import type { AttachPoint } from '../kernel/vni-devices';
import type { DockerVeths } from './network-driver';

// A Docker endpoint's veth: plugged in as `ctl endpoint attach` plugs one, but with the workload side
// left in the host's namespace under a temporary name; Docker moves it into the container, renames it
// and gives it the address.
export class KernelDockerVeths implements DockerVeths {
  private readonly veths: EndpointVeths;

  constructor(
    private readonly rt: Rtnetlink,
    node: string,
    private readonly attachPoint: (vni: number) => AttachPoint | undefined,
  ) {
    this.veths = new EndpointVeths(rt, node);
  }

  // A Join asked again (Docker retried, or the agent restarted in between) starts afresh.
  async plug(endpoint: AttachedEndpoint, peerInterface: string): Promise<void> {
    const { point, device } = await this.veths.attachDevice(endpoint.vni, this.attachPoint(endpoint.vni));
    await this.veths.remove(endpoint.hostInterface);
    await this.veths.create(endpoint, point, device, { name: peerInterface }, async () => {
      const peer = (await this.rt.links.get(peerInterface))!;
      await this.rt.links.change(peer, { mac: endpoint.mac });
    });
  }

  unplug(hostInterface: string): Promise<boolean> {
    return this.veths.remove(hostInterface);
  }
}
