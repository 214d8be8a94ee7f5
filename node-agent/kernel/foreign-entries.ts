import { Neighbour, RTPROT_VXGOSSIP, Route } from '../netlink';

// A route or neighbour vxgossip wants for an endpoint address but does not write, because the kernel
// holds one for that address that vxgossip did not write: an operator's (or another daemon's) entry
// is never replaced, and the conflict is reported instead.
export interface KernelConflict {
  vni: number;
  kind: 'route' | 'neigh';
  address: string;
  // What holds it, in iproute2's words ("proto static", "nud permanent").
  found: string;
}

// iproute2's names (rt_protos) for the route protocols an operator meets most.
const ROUTE_PROTOCOLS: Record<number, string> = {
  2: 'kernel',
  3: 'boot',
  4: 'static',
  11: 'zebra',
  16: 'dhcp',
  186: 'bgp',
  188: 'ospf',
};

// What holds a route that is not ours; undefined for ours.
export function foreignRoute(r: Route): string | undefined {
  if (r.protocol === RTPROT_VXGOSSIP) return undefined;
  const protocol = r.protocol ?? 0;
  return `proto ${ROUTE_PROTOCOLS[protocol] ?? protocol}`;
}

// What holds a neighbour someone set on purpose (permanent, noarp, or another control plane's
// extern_learn) without our tag; undefined for ours and for those the kernel resolved by ARP/ND
// itself, which ours may replace.
export function foreignNeighbour(n: Neighbour): string | undefined {
  if (n.protocol === RTPROT_VXGOSSIP) return undefined;
  if (n.externLearn) return 'extern_learn';
  return n.state === 'permanent' || n.state === 'noarp' ? `nud ${n.state}` : undefined;
}
