import * as ipaddr from 'ipaddr.js';
import { Cidr, ValidationError, parseCidr, shown } from './validation';

// What an L3 VNI's subnet means to routing: the anycast gateway every host answers for, and a
// subnet of its own (each L3 VNI is a routing domain, and the host steers traffic into a domain by
// its subnet too).

type Address = ipaddr.IPv4 | ipaddr.IPv6;

// Room for the gateway and at least one endpoint (IPv4 also keeps its network and broadcast addresses).
const LONGEST_PREFIX = { 4: 30, 6: 126 };

// The subnet's first usable address (10.100.0.1 in 10.100.0.0/24, 2001:db8:100::1 in
// 2001:db8:100::/64): the same gateway on every host.
export function l3Gateway(subnet: string): string {
  const { address } = parseCidr('subnet', subnet);
  const bytes = ipaddr.parse(address).toByteArray();
  // The network address has no host bits, and a routed subnet has at least two: +1 sets the lowest.
  bytes[bytes.length - 1] |= 1;
  return ipaddr.fromByteArray(bytes).toString();
}

// An L3 VNI's subnet must leave room for its gateway.
export function checkRoutedSubnet(field: string, subnet: string): void {
  const { prefixLength, family } = parseCidr(field, subnet);
  if (prefixLength > LONGEST_PREFIX[family])
    throw new ValidationError(
      field,
      `${shown(subnet)} is too small to route: an l3 VNI needs its first address as the gateway and more for endpoints; use /${LONGEST_PREFIX[family]} or shorter`,
    );
}

// An endpoint cannot take the address every host answers for as the VNI's gateway.
export function checkNotGateway(field: string, ip: string, vni: { id: number; subnet: string }): void {
  const address = ip.split('/')[0];
  const gateway = l3Gateway(vni.subnet);
  if (sameAddress(ipaddr.parse(address), ipaddr.parse(gateway)))
    throw new ValidationError(
      field,
      `${shown(ip)} is the gateway of VNI ${vni.id} (the first address of ${vni.subnet}, answered by every host); choose another address`,
    );
}

const sameAddress = (a: Address, b: Address) =>
  a.kind() === b.kind() && a.toByteArray().every((byte, i) => byte === b.toByteArray()[i]);

function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  return ipaddr.parse(a.address).match(ipaddr.parse(b.address), shorter);
}

// L3 VNIs' subnets are apart: one host routes every domain, and an address in two would be ambiguous.
export function checkSubnetsApart(
  vni: { id: number; mode: string; subnet: string },
  others: Array<{ id: number; mode: string; subnet: string }>,
): void {
  if (vni.mode !== 'l3') return;
  const mine = parseCidr('subnet', vni.subnet);
  const clash = others.find(
    (o) => o.id !== vni.id && o.mode === 'l3' && o.subnet && overlaps(mine, parseCidr('subnet', o.subnet)),
  );
  if (clash)
    throw new ValidationError(
      'subnet',
      `${vni.subnet} overlaps ${clash.subnet} of l3 VNI ${clash.id}; l3 VNIs need subnets apart`,
    );
}
