import type { MapEntry } from '../node-agent/bpf/bpf-map';
import type { AttachPoint } from '../node-agent/bpf/datapath';
import type { EndpointKey, LocalEndpoint, RemoteEndpoint, WorkloadInterface } from '../node-agent/bpf/map-codec';
import { l3RouterMac } from '../node-agent/kernel/vni-devices';
import type { LabHost, LabNetwork } from './network';

// Hosts of a LabNetwork set up for the BPF datapath, as an agent would set them up: an external vxlan
// device per host (with an IPv6 underlay address next to the IPv4 one) and workloads in namespaces of
// their own, each behind a routed veth with a default route (IPv4 and IPv6), and the map entries
// that say who is where.

export const TUNNEL_DEVICE = 'vxl3-8472';
const DSTPORT = 8472;

export interface WorkloadSpec {
  name: string;
  host: string;
  vni: number;
  ipv4: string;
  ipv6: string;
}

export interface Workload extends WorkloadSpec {
  // The workload's namespace (for `ip netns exec`) and the host side of its veth.
  netns: string;
  veth: string;
  ifindex: number;
  mac: string;
  vethMac: string;
}

// What one host's loader is given: where to attach and what to put in the maps.
export interface LoaderSpec {
  objectFile?: string;
  bpffs: string;
  pinDir: string;
  attach: { point: AttachPoint; interface: string; netns: string }[];
  remote: MapEntry<EndpointKey, RemoteEndpoint>[];
  local: MapEntry<EndpointKey, LocalEndpoint>[];
  interfaces: MapEntry<number, WorkloadInterface>[];
}

export const ipv6Vtep = (host: LabHost) => `2001:db8:ff::${host.ip.split('.')[3]}`;
const netnsPath = (host: LabHost) => `/run/netns/${host.netns}`;

function linkOf(host: LabHost, name: string): { ifindex: number; address: string } {
  const link = host.link(name);
  if (!link) throw new Error(`[${host.name}] no link ${name}`);
  return { ifindex: link.ifindex as number, address: link.address as string };
}

export function addTunnelDevice(host: LabHost): void {
  host.exec('ip', ['-6', 'addr', 'add', `${ipv6Vtep(host)}/64`, 'dev', 'eth0', 'nodad']);
  host.exec('ip', [
    'link',
    'add',
    TUNNEL_DEVICE,
    'address',
    l3RouterMac(host.ip),
    'mtu',
    '1430',
    'type',
    'vxlan',
    'external',
    'dstport',
    String(DSTPORT),
    'local',
    host.ip,
    'dev',
    'eth0',
  ]);
  host.exec('ip', ['link', 'set', TUNNEL_DEVICE, 'up']);
}

export function addWorkload(lab: LabNetwork, spec: WorkloadSpec, index: number): Workload {
  const host = lab.host(spec.host);
  const netns = lab.namespace(spec.name);
  const veth = `w-${spec.name}`;
  const mac = `02:00:00:00:${spec.vni.toString(16).padStart(2, '0').slice(-2)}:${index.toString(16).padStart(2, '0')}`;
  host.exec('ip', ['link', 'add', veth, 'mtu', '1400', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  host.exec('ip', ['link', 'set', veth, 'up']);
  const inside = (args: string[]) => {
    const r = lab.execIn(netns, 'ip', args);
    if (r.status !== 0) throw new Error(`[${spec.name}] ip ${args.join(' ')}: ${r.stderr}`);
  };
  inside(['link', 'set', 'eth0', 'address', mac, 'mtu', '1400', 'up']);
  inside(['addr', 'add', `${spec.ipv4}/24`, 'dev', 'eth0']);
  inside(['-6', 'addr', 'add', `${spec.ipv6}/64`, 'dev', 'eth0', 'nodad']);
  // Gateways nobody owns: the datapath answers ARP and neighbour solicitations for any address.
  inside(['route', 'add', 'default', 'via', spec.ipv4.replace(/\.\d+$/, '.254')]);
  inside(['-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0']);
  const { ifindex, address } = linkOf(host, veth);
  return { ...spec, netns, veth, ifindex, mac, vethMac: address };
}

const addresses = (w: Workload) => [w.ipv4, w.ipv6];

// One host's desired state: its veths and tunnel device to attach to, its own workloads as local
// endpoints, every other host's as remote ones (IPv4 endpoints over the IPv4 underlay, IPv6 ones over
// the IPv6 underlay).
export function loaderSpec(
  lab: LabNetwork,
  hostName: string,
  workloads: Workload[],
  paths: { bpffs: string; pinDir: string },
): LoaderSpec {
  const host = lab.host(hostName);
  const tunnel = linkOf(host, TUNNEL_DEVICE);
  const mine = workloads.filter((w) => w.host === hostName);
  const others = workloads.filter((w) => w.host !== hostName);
  return {
    ...paths,
    attach: [
      ...mine.map((w) => ({ point: 'workload' as const, interface: w.veth, netns: netnsPath(host) })),
      { point: 'tunnel', interface: TUNNEL_DEVICE, netns: netnsPath(host) },
    ],
    interfaces: mine.map((w) => ({ key: w.ifindex, value: { vni: w.vni, mac: w.vethMac } })),
    local: mine.flatMap((w) =>
      addresses(w).map((address) => ({ key: { vni: w.vni, address }, value: { ifindex: w.ifindex, mac: w.mac } })),
    ),
    remote: others.flatMap((w) => {
      const peer = lab.host(w.host);
      return addresses(w).map((address) => ({
        key: { vni: w.vni, address },
        value: {
          vtep: address.includes(':') ? ipv6Vtep(peer) : peer.ip,
          mac: l3RouterMac(peer.ip),
          tunnelIfindex: tunnel.ifindex,
        },
      }));
    }),
  };
}
