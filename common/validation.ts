import { isIP } from 'node:net';
// ipaddr.js parses and classifies addresses (loopback, link-local, multicast, ...) so that no check
// here compares strings: "ff0::" is not in ff00::/8 and "10.0.0.5/8" is not a network.
import * as ipaddr from 'ipaddr.js';
import { DEFAULT_MAX_RECORDS_PER_OWNER, FLOOD_MAC } from './fdb-state/record';

// A rejected input, naming the field so users know what to fix.
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ValidationError';
  }
}

// Inputs echoed in messages are cut to this many characters: a 1 MB field never comes back whole.
export const ECHO_MAX = 64;

// A user's value as an error message shows it: quoted, escaped and truncated.
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  return JSON.stringify(text.length > ECHO_MAX ? `${text.slice(0, ECHO_MAX)}…` : text);
}

export const VNI_MIN = 1;
export const VNI_MAX = 16777215;
export const DEFAULT_DSTPORT = 4789;
// 576 is the smallest datagram every IPv4 host must accept; 9216 is the usual jumbo ceiling of switches.
export const MTU_MIN = 576;
export const MTU_MAX = 9216;

export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}, got ${shown(value)}`);
  }
  return n;
}

// uint64 and int64 fields arrive as decimal strings (the proto loader's longs: String): a value a
// JavaScript number cannot hold exactly is refused, never rounded to a neighbour.
export function checkUint64(field: string, value: unknown): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new ValidationError(field, `must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${shown(value)}`);
  }
  return Number(text);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// "180s", "500ms", "3m", "1h": a duration in milliseconds, from minMs to maxMs.
export function parseDuration(field: string, value: string, minMs: number, maxMs: number): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(value.trim());
  if (!m) throw new ValidationError(field, `must be a duration such as 500ms, 180s, 3m or 1h, got ${shown(value)}`);
  const ms = Number(m[1]) * DURATION_UNITS[m[2]];
  if (ms < minMs || ms > maxMs)
    throw new ValidationError(field, `must be from ${minMs} ms to ${maxMs} ms, got ${shown(value)}`);
  return ms;
}

export function checkVniId(value: unknown, field = 'id'): number {
  return checkInteger(field, value, VNI_MIN, VNI_MAX);
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export function checkName(field: string, value: string): string {
  if (!NAME_RE.test(value)) {
    throw new ValidationError(
      field,
      `${shown(value)} must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`,
    );
  }
  return value;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

// node's isIP is strict about the text ("127.1" and hex octets are refused); ipaddr.js then says what
// the address is. Zone ids ("fe80::1%eth0") have no meaning in what we configure.
export function parseAddress(field: string, value: string): Address {
  if (isIP(value) === 0 || value.includes('%'))
    throw new ValidationError(field, `${shown(value)} is not an IPv4 or IPv6 address`);
  return ipaddr.parse(value);
}

export function checkIp(field: string, value: string): string {
  parseAddress(field, value);
  return value;
}

const familyOf = (a: Address): 4 | 6 => (a.kind() === 'ipv4' ? 4 : 6);
// ::ffff:198.18.0.3 is 198.18.0.3 to the kernel's IPv4 stack.
const unmapped = (a: Address): Address =>
  a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
const sameAddress = (a: Address, b: Address) =>
  unmapped(a).kind() === unmapped(b).kind() && unmapped(a).toNormalizedString() === unmapped(b).toNormalizedString();

export function isMulticast(ip: string): boolean {
  return isIP(ip) !== 0 && ipaddr.parse(ip).range() === 'multicast';
}

// A node's underlay address, as the server knows it (agent hellos, enrolment).
export interface KnownVtep {
  node: string;
  vtep: string;
}

// VTEPs were checked when nodes said hello or enrolled; one that does not parse constrains nothing.
function vtepAddress(vtep: string): Address | undefined {
  try {
    return parseAddress('vtep', vtep);
  } catch {
    return undefined;
  }
}

// 224.0.0.0/24 is link-local control traffic (OSPF, IGMP, ...), never routed; an IPv6 group's scope
// nibble says the same: 0 is reserved, 1 interface-local, 2 link-local (ff02::/16, ff12::/16, ...).
function reservedGroup(group: Address): string | undefined {
  if (group.kind() === 'ipv4') return group.match(ipaddr.parse('224.0.0.0'), 24) ? '224.0.0.0/24' : undefined;
  const scope = group.toByteArray()[1] & 0x0f;
  return scope <= 2
    ? ['reserved-scope (ff00::/16)', 'interface-local (ff01::/16)', 'link-local (ff02::/16)'][scope]
    : undefined;
}

// A group VTEPs can join: multicast, routable beyond the link, and of the VTEPs' family (the
// kernel refuses a group of another family than the device's local address).
export function checkMulticastGroup(field: string, value: string, vteps: KnownVtep[] = []): string {
  const group = parseAddress(field, value);
  if (group.range() !== 'multicast')
    throw new ValidationError(field, `${shown(value)} is not a multicast address (224.0.0.0/4 or ff00::/8)`);
  const reserved = reservedGroup(group);
  if (reserved)
    throw new ValidationError(field, `${shown(value)} is in the reserved ${reserved} block; choose a routable group`);
  for (const { node, vtep } of vteps) {
    const underlay = vtepAddress(vtep);
    if (!underlay || familyOf(underlay) === familyOf(group)) continue;
    throw new ValidationError(
      field,
      `${shown(value)} is an IPv${familyOf(group)} group but node ${node}'s VTEP ${vtep} is IPv${familyOf(group) === 4 ? 6 : 4}`,
    );
  }
  return value;
}

export interface Cidr {
  address: string;
  prefixLength: number;
  family: 4 | 6;
}

export function parseCidr(field: string, value: string): Cidr {
  const slash = value.lastIndexOf('/');
  const address = slash < 0 ? '' : value.slice(0, slash);
  const prefix = slash < 0 ? '' : value.slice(slash + 1);
  const family = isIP(address);
  if (family === 0 || address.includes('%') || !/^\d{1,3}$/.test(prefix)) {
    throw new ValidationError(field, `${shown(value)} is not an address with a prefix length, e.g. 10.42.0.0/24`);
  }
  const prefixLength = Number(prefix);
  const max = family === 4 ? 32 : 128;
  if (prefixLength > max)
    throw new ValidationError(field, `prefix length ${prefixLength} exceeds ${max} in ${shown(value)}`);
  return { address, prefixLength, family: family as 4 | 6 };
}

const addressOf = (c: Cidr): Address => ipaddr.parse(c.address);

// The network of a prefix, as ipaddr.js computes it (host bits cleared).
function networkOf(c: Cidr): Address {
  const text = `${c.address}/${c.prefixLength}`;
  return c.family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
}

// A VNI's subnet: a network (no host bits), not the whole address space.
export function checkSubnet(field: string, value: string): string {
  const cidr = parseCidr(field, value);
  if (cidr.prefixLength === 0)
    throw new ValidationError(field, `${shown(value)} is every address; a subnet is one network, e.g. 10.42.0.0/24`);
  const network = networkOf(cidr);
  if (!sameAddress(network, addressOf(cidr))) {
    throw new ValidationError(
      field,
      `${shown(value)} has host bits set; did you mean ${network.toString()}/${cidr.prefixLength}?`,
    );
  }
  return `${network.toString()}/${cidr.prefixLength}`;
}

// Ranges no endpoint may hold: the kernel or every host treats them specially.
const NOT_FOR_ENDPOINTS: Record<string, string> = {
  unspecified: 'unspecified',
  loopback: 'loopback',
  linkLocal: 'link-local',
  multicast: 'multicast',
  broadcast: 'broadcast',
};

// Network and broadcast addresses of an IPv4 prefix that has both (/31 and /32 have neither).
function ipv4Reserved(address: Address, c: Cidr): string | undefined {
  if (c.family !== 4 || c.prefixLength > 30) return undefined;
  const text = `${c.address}/${c.prefixLength}`;
  if (sameAddress(address, ipaddr.IPv4.broadcastAddressFromCIDR(text))) return `the broadcast address of ${text}`;
  if (sameAddress(address, networkOf(c))) return `the network address of ${text}`;
  return undefined;
}

// An endpoint's address and prefix: a unicast address a workload can hold, inside the VNI's subnet
// when it has one, and never a host's underlay address (every host would route it into the tunnel).
export function checkEndpointIp(field: string, value: string, subnet = '', vteps: KnownVtep[] = []): Cidr {
  const cidr = parseCidr(field, value);
  const address = parseAddress(field, cidr.address);
  if (address.range() === 'ipv4Mapped')
    throw new ValidationError(field, `${shown(value)} is an IPv4-mapped IPv6 address; give the IPv4 address itself`);
  const range = NOT_FOR_ENDPOINTS[address.range()];
  if (range) throw new ValidationError(field, `${shown(value)} is a ${range} address; an endpoint needs a unicast one`);
  if (cidr.prefixLength === 0)
    throw new ValidationError(
      field,
      `${shown(value)}: prefix length 0 makes every address on-link; use /32, /128 or the subnet's`,
    );
  const reserved = ipv4Reserved(address, cidr);
  if (reserved) throw new ValidationError(field, `${shown(value)} is ${reserved}, not a host's address`);
  for (const { node, vtep } of vteps) {
    const underlay = vtepAddress(vtep);
    if (underlay && sameAddress(address, underlay))
      throw new ValidationError(
        field,
        `${cidr.address} is the VTEP of node ${node}; an endpoint cannot take a host's underlay address`,
      );
  }
  if (subnet) checkInsideSubnet(field, value, cidr, address, parseCidr('subnet', subnet));
  return cidr;
}

function checkInsideSubnet(field: string, value: string, cidr: Cidr, address: Address, subnet: Cidr): void {
  const net = addressOf(subnet);
  const label = `${subnet.address}/${subnet.prefixLength}`;
  if (address.kind() !== net.kind() || !address.match(net, subnet.prefixLength))
    throw new ValidationError(field, `${shown(value)} is outside the VNI's subnet ${label}`);
  if (cidr.prefixLength < subnet.prefixLength)
    throw new ValidationError(
      field,
      `${shown(value)}: prefix /${cidr.prefixLength} is wider than the VNI's subnet ${label}; use /${subnet.prefixLength} or longer`,
    );
  const reserved = ipv4Reserved(address, subnet);
  if (reserved) throw new ValidationError(field, `${shown(value)} is ${reserved}, not a host's address`);
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
// Returns the MAC lowercased; accepts '-' separators as some tools print them.
export function checkUnicastMac(field: string, value: string): string {
  const mac = value.toLowerCase().replace(/-/g, ':');
  if (!MAC_RE.test(mac))
    throw new ValidationError(field, `${shown(value)} is not a MAC address like 02:42:0a:2a:00:02`);
  if (mac === FLOOD_MAC) throw new ValidationError(field, 'the all-zeros MAC is reserved for flood entries');
  if (parseInt(mac.slice(0, 2), 16) & 1)
    throw new ValidationError(field, `${shown(value)} is a multicast/broadcast MAC, not an endpoint's`);
  return mac;
}

// Kernel interface names: at most 15 bytes, no '/', no whitespace, not "." or "..". No '%' either:
// the kernel takes a name with '%d' as a template and picks another name than the one asked for.
export function checkInterfaceName(field: string, value: string): string {
  if (
    value.length === 0 ||
    Buffer.byteLength(value) > 15 ||
    /[\s/:%\0]/.test(value) ||
    value === '.' ||
    value === '..'
  ) {
    throw new ValidationError(
      field,
      `${shown(value)} is not a valid interface name (1-15 characters, no '/', ':', '%' or spaces)`,
    );
  }
  return value;
}

// A named namespace is a file in /run/netns: a file name of at most NAME_MAX (255) bytes.
export const NETNS_NAME_MAX_BYTES = 255;

export function checkNetnsName(field: string, value: string): string {
  if (!value) throw new ValidationError(field, 'name the network namespace');
  if (Buffer.byteLength(value) > NETNS_NAME_MAX_BYTES || /[/\0]/.test(value) || value === '.' || value === '..') {
    throw new ValidationError(
      field,
      `${shown(value)} is not a namespace name (at most ${NETNS_NAME_MAX_BYTES} bytes, no '/', not '.' or '..')`,
    );
  }
  return value;
}

export interface HostPort {
  host: string;
  port: number;
}

// minPort 0 lets a listener ask the kernel for a free port.
export function parseHostPort(field: string, value: string, defaultPort?: number, minPort = 1): HostPort {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    [, host, port] = bracketed as unknown as [string, string, string | undefined];
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0 && value.indexOf(':') === colon) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    } else {
      host = value;
    }
  }
  if (host === '') throw new ValidationError(field, `${shown(value)} has no host; expected HOST:PORT`);
  if (port === undefined) {
    if (defaultPort === undefined) throw new ValidationError(field, `${shown(value)} has no port; expected HOST:PORT`);
    return { host, port: defaultPort };
  }
  return { host, port: checkInteger(field, port, minPort, 65535) };
}

const NODE_NAME_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$/;
// Node names appear in gossip and in logs: hostname-like, at most 63 characters.
export function checkNodeName(field: string, value: string): string {
  if (!NODE_NAME_RE.test(value)) {
    throw new ValidationError(
      field,
      `${shown(value)} must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return value;
}

// The --max-records-per-owner flag of the agent and the server (they must agree).
export function maxRecordsPerOwnerOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RECORDS_PER_OWNER;
  if (!/^\d+$/.test(value))
    throw new ValidationError('--max-records-per-owner', `expected an integer from 16 to 1000000, got ${shown(value)}`);
  return checkInteger('--max-records-per-owner', Number(value), 16, 1_000_000);
}
