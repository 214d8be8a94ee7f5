import type { EndpointRecord } from '../../common/fdb-state/winner-rule';
import type { MapEntry } from '../bpf/bpf-map';
import type { AttachPoint } from '../bpf/datapath';
import type { EndpointKey, LocalEndpoint, RemoteEndpoint, WorkloadInterface } from '../bpf/map-codec';
import type { L3Vni } from './realised-vnis';
import { l3RouterMac } from './vni-devices';

// An endpoint attached on this host to a BPF VNI, with its veth as the kernel has it.
export interface LocalBpfEndpoint {
  vni: number;
  // The workload's address (a prefix length may follow) and MAC.
  ip: string;
  mac: string;
  hostIfindex: number;
  // The host side's MAC: the workload's gateway answers with it.
  hostMac: string;
}

// A program at an interface's ingress, by ifindex.
export interface BpfAttachment {
  point: AttachPoint;
  ifindex: number;
}

// What the BPF VNIs call for on this host: the three maps' entries, where the programs go, and how
// many map entries each VNI wants (what its status reports).
export interface DesiredBpf {
  interfaces: Array<MapEntry<number, WorkloadInterface>>;
  local: Array<MapEntry<EndpointKey, LocalEndpoint>>;
  remote: Array<MapEntry<EndpointKey, RemoteEndpoint>>;
  attachments: BpfAttachment[];
  perVni: Map<number, number>;
}

const addressOf = (cidr: string) => cidr.split('/')[0];

// Per BPF VNI: each local endpoint's veth (its VNI and MAC) and address (its veth and the workload's
// MAC); each remote endpoint's addresses (its owner's VTEP, the MAC that host's external device
// accepts, and our external device for the VNI's port). The programs go on every local endpoint's
// veth and on each port's external device. Endpoints and records of other VNIs are not ours to
// program; a remote address claimed twice keeps the last claim (the winner rule already chose per MAC).
export function desiredBpf(vnis: L3Vni[], local: LocalBpfEndpoint[], remote: EndpointRecord[]): DesiredBpf {
  const byVni = new Map(vnis.filter((v) => v.datapath === 'bpf').map((v) => [v.vni, v]));
  const out: DesiredBpf = { interfaces: [], local: [], remote: [], attachments: [], perVni: new Map() };
  const remoteByKey = new Map<string, MapEntry<EndpointKey, RemoteEndpoint>>();
  for (const e of local) {
    if (!byVni.has(e.vni)) continue;
    out.interfaces.push({ key: e.hostIfindex, value: { vni: e.vni, mac: e.hostMac } });
    out.local.push({ key: { vni: e.vni, address: addressOf(e.ip) }, value: { ifindex: e.hostIfindex, mac: e.mac } });
    out.attachments.push({ point: 'workload', ifindex: e.hostIfindex });
  }
  for (const r of remote) {
    const l3 = byVni.get(r.body.vni);
    if (!l3) continue;
    for (const cidr of r.body.ips) {
      const key = { vni: l3.vni, address: addressOf(cidr) };
      const value = { vtep: r.body.vtep, mac: l3RouterMac(r.body.vtep), tunnelIfindex: l3.deviceIndex };
      remoteByKey.set(`${key.vni}/${key.address}`, { key, value });
    }
  }
  out.remote = [...remoteByKey.values()];
  for (const deviceIndex of new Set([...byVni.values()].map((v) => v.deviceIndex)))
    out.attachments.push({ point: 'tunnel', ifindex: deviceIndex });
  const count = (vni: number) => out.perVni.set(vni, (out.perVni.get(vni) ?? 0) + 1);
  for (const vni of byVni.keys()) out.perVni.set(vni, 0);
  for (const e of out.interfaces) count(e.value.vni);
  for (const e of [...out.local, ...out.remote]) count(e.key.vni);
  return out;
}
