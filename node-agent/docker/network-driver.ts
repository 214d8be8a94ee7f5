import { checkNotGateway, l3Gateway } from '../../common/l3-subnet';
import type { Logger } from '../../common/log';
import { checkUnicastMac } from '../../common/validation';
import type { VniConfig } from '../../common/vni';
import type { HostIpam } from '../ipam/host-ipam';
import type { AttachedEndpoint } from '../kernel/endpoint-veth';
import { generatedMac, vethName } from '../kernel/endpoint-veth';
import type { DockerEndpoint, DockerState } from './docker-state';
import { dockerId, objectField, objectList, optionalString } from './docker-request';
import { DOCKER_HANDLE_PREFIX, canonicalSubnet, checkOptionVni } from './ipam-driver';
import type { PluginHandlers, PluginRequest } from './plugin-server';

// Docker's remote network driver: a Docker network is a VNI of the agent's signed configuration, an
// endpoint a veth announced like any other. Docker moves the workload side into the container and
// configures the address itself.

const GENERIC_OPTIONS = 'com.docker.network.generic';
// What `-o vni=N` is called in the generic options.
const VNI_OPTION = 'vni';
// Docker names the interface in the container DstPrefix + a number: eth0, eth1, …
const CONTAINER_PREFIX = 'eth';

// The kernel side of an endpoint: the veth, its workload side left in the host's namespace for Docker.
export interface DockerVeths {
  plug(endpoint: AttachedEndpoint, peerInterface: string): Promise<void>;
  unplug(hostInterface: string): Promise<boolean>;
}

export interface NetworkDriverDeps {
  node: string;
  vnis: () => VniConfig[];
  ipam: HostIpam;
  state: DockerState;
  veths: DockerVeths;
  // Runs a reconcile pass and waits for it: an endpoint is announced before Docker starts the container.
  settle: () => Promise<void>;
  log: Logger;
}

const asAttached = (e: DockerEndpoint): AttachedEndpoint => ({
  vni: e.vni,
  netns: 'docker',
  interface: e.id.slice(0, 12),
  ip: e.ip,
  mac: e.mac,
  hostInterface: e.hostInterface,
});

export class NetworkDriver {
  constructor(private readonly deps: NetworkDriverDeps) {}

  handlers(): PluginHandlers {
    const none = () => ({});
    return {
      'NetworkDriver.GetCapabilities': () => ({ Scope: 'local', ConnectivityScope: 'local' }),
      'NetworkDriver.CreateNetwork': (r) => this.createNetwork(r),
      'NetworkDriver.DeleteNetwork': (r) => this.deleteNetwork(r),
      'NetworkDriver.CreateEndpoint': (r) => this.createEndpoint(r),
      'NetworkDriver.EndpointOperInfo': () => ({ Value: {} }),
      'NetworkDriver.DeleteEndpoint': (r) => this.deleteEndpoint(r),
      'NetworkDriver.Join': (r) => this.join(r),
      'NetworkDriver.Leave': (r) => this.leave(r),
      'NetworkDriver.DiscoverNew': none,
      'NetworkDriver.DiscoverDelete': none,
      'NetworkDriver.ProgramExternalConnectivity': none,
      'NetworkDriver.RevokeExternalConnectivity': none,
      'NetworkDriver.AllocateNetwork': none,
      'NetworkDriver.FreeNetwork': none,
    };
  }

  // The VNI must exist in the signed configuration (only the server writes it), and the Docker
  // network's subnet must be the VNI's: every host then agrees on what the network is.
  private createNetwork(request: PluginRequest): object {
    const id = dockerId(request, 'NetworkID');
    const generic = objectField(objectField(request, 'Options'), GENERIC_OPTIONS);
    const given = optionalString(generic, VNI_OPTION);
    if (given === '')
      throw new Error('no VNI: create the network with -o vni=N (a VNI of the cluster, ctl vni list shows them)');
    const vni = this.configuredVni(checkOptionVni(given, '-o vni'));
    const pools = [...objectList(request, 'IPv4Data', 8), ...objectList(request, 'IPv6Data', 8)].map((d) =>
      optionalString(d, 'Pool'),
    );
    const subnet = canonicalSubnet(vni.subnet) ?? vni.subnet;
    if (pools.length !== 1 || canonicalSubnet(pools[0]) !== subnet)
      throw new Error(
        `subnet ${pools.join(', ') || '(none)'} is not VNI ${vni.id}'s: use --subnet ${vni.subnet} --ipam-driver vxgossip`,
      );
    const other = this.deps.state.networksOf(vni.id).find((n) => n.id !== id && n.subnet !== subnet);
    if (other)
      throw new Error(
        `VNI ${vni.id} already has Docker network ${other.id.slice(0, 12)} with subnet ${other.subnet}; remove it first`,
      );
    this.deps.state.putNetwork({ id, vni: vni.id, subnet });
    this.deps.log.info('Docker network created', { network: id, vni: vni.id, subnet });
    return {};
  }

  private deleteNetwork(request: PluginRequest): object {
    const id = dockerId(request, 'NetworkID');
    this.deps.state.deleteNetwork(id);
    this.deps.log.info('Docker network deleted', { network: id });
    return {};
  }

  // Records the endpoint; the veth comes with Join, when Docker has a container to move it into.
  private createEndpoint(request: PluginRequest): object {
    const networkId = dockerId(request, 'NetworkID');
    const id = dockerId(request, 'EndpointID');
    const iface = objectField(request, 'Interface');
    const network = this.network(networkId);
    const vni = this.configuredVni(network.vni);
    const ip = optionalString(iface, 'Address');
    const address = ip.split('/')[0];
    const ours = this.deps.ipam
      .allocated(vni.id)
      .find((a) => a.handle.startsWith(DOCKER_HANDLE_PREFIX) && a.ip.split('/')[0] === address);
    if (!ours)
      throw new Error(
        `address ${ip || '(none)'} was not handed out by the vxgossip IPAM driver on this host: create the network with --ipam-driver vxgossip`,
      );
    if (vni.mode === 'l3') checkNotGateway('ip', ours.ip, { id: vni.id, subnet: vni.subnet });
    const givenMac = optionalString(iface, 'MacAddress');
    const mac = givenMac ? checkUnicastMac('MacAddress', givenMac) : generatedMac(this.deps.node, 'docker', id);
    this.deps.state.putEndpoint({
      id,
      network: networkId,
      vni: vni.id,
      ip: ours.ip,
      mac,
      hostInterface: vethName('vxd', id),
      peerInterface: vethName('vxc', id),
    });
    // Docker takes from the answer only what it did not give.
    return { Interface: givenMac ? {} : { MacAddress: mac } };
  }

  private async deleteEndpoint(request: PluginRequest): Promise<object> {
    const endpoint = this.deps.state.endpoint(dockerId(request, 'EndpointID'));
    if (!endpoint) return {};
    await this.unplug(endpoint);
    this.deps.state.deleteEndpoint(endpoint.id);
    return {};
  }

  // The veth, plugged in and announced before Docker moves its workload side into the container.
  private async join(request: PluginRequest): Promise<object> {
    const endpoint = this.endpoint(request);
    const vni = this.configuredVni(endpoint.vni);
    await this.deps.veths.plug(asAttached(endpoint), endpoint.peerInterface);
    await this.deps.settle();
    this.deps.log.info('Docker endpoint joined', { ...asAttached(endpoint), endpoint: endpoint.id });
    return {
      InterfaceName: { SrcName: endpoint.peerInterface, DstPrefix: CONTAINER_PREFIX },
      // A routed VNI's anycast gateway (on-link in the subnet, answered by the host side); an L2 VNI
      // has no router of ours, so the container gets the subnet's route only.
      ...(vni.mode === 'l3' ? { Gateway: l3Gateway(vni.subnet) } : {}),
      StaticRoutes: [],
      // No docker_gwbridge: the network is the VNI and nothing else.
      DisableGatewayService: true,
    };
  }

  private async leave(request: PluginRequest): Promise<object> {
    await this.unplug(this.endpoint(request));
    return {};
  }

  private async unplug(endpoint: DockerEndpoint): Promise<void> {
    if (!(await this.deps.veths.unplug(endpoint.hostInterface))) return;
    await this.deps.settle();
    this.deps.log.info('Docker endpoint left', { ...asAttached(endpoint), endpoint: endpoint.id });
  }

  private endpoint(request: PluginRequest): DockerEndpoint {
    dockerId(request, 'NetworkID');
    const id = dockerId(request, 'EndpointID');
    const endpoint = this.deps.state.endpoint(id);
    if (!endpoint)
      throw new Error(`no endpoint ${id.slice(0, 12)} on this host's vxgossip agent; recreate the container`);
    return endpoint;
  }

  private network(id: string) {
    const network = this.deps.state.network(id);
    if (!network)
      throw new Error(
        `no network ${id.slice(0, 12)} on this host's vxgossip agent; remove and create the Docker network again`,
      );
    return network;
  }

  private configuredVni(id: number): VniConfig {
    const vni = this.deps.vnis().find((v) => v.id === id);
    if (!vni)
      throw new Error(
        `VNI ${id} is not in this host's configuration: the server is its only author; create it first (ctl vni create ${id} --subnet SUBNET)`,
      );
    if (!vni.subnet)
      throw new Error(
        `VNI ${id} has no subnet to hand out addresses from; create it with ctl vni create ${id} --subnet SUBNET`,
      );
    return vni;
  }
}
