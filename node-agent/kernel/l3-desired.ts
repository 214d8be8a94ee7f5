import type { EndpointRecord } from '../../common/fdb-state/winner-rule';
import { l3Gateway } from '../../common/l3-subnet';
import { Neighbour, RTPROT_VXGOSSIP, Route, Rule } from '../netlink';
import { LOOPBACK_IFINDEX } from '../netlink/constants';
import { domainRules, vniTable } from './l3-domain';
import type { L3Vni } from './realised-vnis';
import { l3RouterMac } from './vni-devices';

// An endpoint attached on this host to an L3 VNI: routed to through its veth.
export interface LocalL3Endpoint {
  vni: number;
  ip: string;
  hostIfindex: number;
  hostInterface: string;
}

export interface Sysctl {
  path: string;
  value: string;
  // Written instead when the kernel lacks `path` (an older kernel).
  fallback?: { path: string; value: string };
}

type Of<T> = T & { vni: number };

// Everything the L3 domains call for on this host, each object with the VNI it serves.
export interface DesiredL3 {
  // By table and prefix.
  routes: Map<string, Of<Route>>;
  // By device and address: the remote device's MAC for each remote endpoint.
  neighbours: Map<string, Of<Neighbour>>;
  // By device and address: the IPv6 gateway answered (ND) on each local endpoint's veth.
  proxies: Map<string, Of<Neighbour>>;
  rules: Array<Of<Rule>>;
  sysctls: Sysctl[];
}

export const routeKey = (r: Route) => `${r.table ?? 254}|${r.dst}`;
export const neighbourKey = (n: Neighbour) => `${n.ifindex}/${n.ip}`;
const hostPrefix = (ip: string) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`);
// IPv6 is forwarded per device where the kernel allows it (6.17's force_forwarding), else host-wide.
const forwardIpv6 = (device: string): Sysctl => ({
  path: `net.ipv6.conf.${device}.force_forwarding`,
  value: '1',
  fallback: { path: 'net.ipv6.conf.all.forwarding', value: '1' },
});

// Per domain: a blackhole default for both families (a miss ends there), the gateway (IPv4: a local
// route, so proxy ARP on the domain's veths answers for it; IPv6: a proxy entry per veth), a route
// per local endpoint to its veth, and a route per remote endpoint into the tunnel with the VNI's key.
export function desiredL3(
  vnis: L3Vni[],
  local: LocalL3Endpoint[],
  remote: EndpointRecord[],
  orphans: string[],
): DesiredL3 {
  const byVni = new Map(vnis.map((v) => [v.vni, v]));
  const out: DesiredL3 = { routes: new Map(), neighbours: new Map(), proxies: new Map(), rules: [], sysctls: [] };
  const route = (r: Of<Route>) => out.routes.set(routeKey(r), { ...r, protocol: RTPROT_VXGOSSIP });
  for (const v of vnis) {
    const table = vniTable(v.vni);
    for (const dst of ['0.0.0.0/0', '::/0']) route({ vni: v.vni, table, dst, type: 'blackhole' });
    const gateway = l3Gateway(v.subnet);
    if (!gateway.includes(':'))
      route({ vni: v.vni, table, dst: hostPrefix(gateway), type: 'local', oif: LOOPBACK_IFINDEX });
    else out.sysctls.push(forwardIpv6(v.device));
  }
  for (const e of local) {
    const l3 = byVni.get(e.vni);
    if (!l3) continue;
    const ip = e.ip.split('/')[0];
    route({ vni: e.vni, table: vniTable(e.vni), dst: hostPrefix(ip), oif: e.hostIfindex, scope: 'link' });
    out.sysctls.push(...endpointSysctls(e.hostInterface, l3.subnet.includes(':')));
    const gateway = l3Gateway(l3.subnet);
    if (gateway.includes(':')) {
      const proxy = { vni: e.vni, ifindex: e.hostIfindex, ip: gateway, proxy: true, protocol: RTPROT_VXGOSSIP };
      out.proxies.set(neighbourKey(proxy), proxy);
    }
  }
  for (const r of remote) {
    const l3 = byVni.get(r.body.vni);
    if (!l3) continue;
    const v6Underlay = r.body.vtep.includes(':');
    for (const cidr of r.body.ips) {
      const ip = cidr.split('/')[0];
      route({
        vni: l3.vni,
        table: vniTable(l3.vni),
        dst: hostPrefix(ip),
        oif: l3.deviceIndex,
        scope: 'link',
        encap: { id: BigInt(l3.vni), dst: r.body.vtep, ...(v6Underlay ? { csum: true } : {}) },
      });
      const n = {
        vni: l3.vni,
        ifindex: l3.deviceIndex,
        ip,
        mac: l3RouterMac(r.body.vtep),
        state: 'permanent' as const,
        protocol: RTPROT_VXGOSSIP,
      };
      out.neighbours.set(neighbourKey(n), n);
    }
  }
  out.rules = domainRules(vnis, local, orphans);
  if (vnis.length > 0) out.sysctls.push({ path: 'net.ipv4.ip_forward', value: '1' });
  return out;
}

// What a local endpoint's veth needs to act as its gateway: answer ARP (IPv4: proxy ARP for what the
// domain routes, at once instead of after up to 0.8 s) or ND (IPv6: proxy entries, which need the
// device to forward), and forward.
function endpointSysctls(veth: string, v6: boolean): Sysctl[] {
  if (!v6)
    return [
      { path: `net.ipv4.conf.${veth}.proxy_arp`, value: '1' },
      { path: `net.ipv4.neigh.${veth}.proxy_delay`, value: '0' },
    ];
  return [
    { path: `net.ipv6.conf.${veth}.forwarding`, value: '1' },
    { path: `net.ipv6.conf.${veth}.proxy_ndp`, value: '1' },
    { path: `net.ipv6.neigh.${veth}.proxy_delay`, value: '0' },
    forwardIpv6(veth),
  ];
}
