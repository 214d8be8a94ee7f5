import { isIP } from 'node:net';
import { FLOOD_MAC } from './fdb-state/record';

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

export const VNI_MIN = 1;
export const VNI_MAX = 16777215;
export const DEFAULT_DSTPORT = 4789;
// 576 is the smallest datagram every IPv4 host must accept; 9216 is the usual jumbo ceiling of switches.
export const MTU_MIN = 576;
export const MTU_MAX = 9216;

export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// "180s", "500ms", "3m", "1h": a duration in milliseconds, from minMs to maxMs.
export function parseDuration(field: string, value: string, minMs: number, maxMs: number): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(value.trim());
  if (!m)
    throw new ValidationError(field, `must be a duration such as 500ms, 180s, 3m or 1h, got ${JSON.stringify(value)}`);
  const ms = Number(m[1]) * DURATION_UNITS[m[2]];
  if (ms < minMs || ms > maxMs)
    throw new ValidationError(field, `must be from ${minMs} ms to ${maxMs} ms, got ${value}`);
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
      `"${value}" must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`,
    );
  }
  return value;
}

export function checkIp(field: string, value: string): string {
  if (isIP(value) === 0) throw new ValidationError(field, `"${value}" is not an IPv4 or IPv6 address`);
  return value;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function isMulticast(ip: string): boolean {
  switch (isIP(ip)) {
    case 4:
      return ipv4ToInt(ip) >>> 28 === 0xe; // 224.0.0.0/4
    case 6:
      return ip.toLowerCase().startsWith('ff'); // ff00::/8
    default:
      return false;
  }
}

export function checkMulticastGroup(field: string, value: string): string {
  checkIp(field, value);
  if (!isMulticast(value))
    throw new ValidationError(field, `"${value}" is not a multicast address (224.0.0.0/4 or ff00::/8)`);
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
  if (family === 0 || !/^\d{1,3}$/.test(prefix)) {
    throw new ValidationError(field, `"${value}" is not an address with a prefix length, e.g. 10.42.0.0/24`);
  }
  const prefixLength = Number(prefix);
  const max = family === 4 ? 32 : 128;
  if (prefixLength > max)
    throw new ValidationError(field, `prefix length ${prefixLength} exceeds ${max} in "${value}"`);
  return { address, prefixLength, family: family as 4 | 6 };
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
// Returns the MAC lowercased; accepts '-' separators as some tools print them.
export function checkUnicastMac(field: string, value: string): string {
  const mac = value.toLowerCase().replace(/-/g, ':');
  if (!MAC_RE.test(mac)) throw new ValidationError(field, `"${value}" is not a MAC address like 02:42:0a:2a:00:02`);
  if (mac === FLOOD_MAC) throw new ValidationError(field, 'the all-zeros MAC is reserved for flood entries');
  if (parseInt(mac.slice(0, 2), 16) & 1)
    throw new ValidationError(field, `"${value}" is a multicast/broadcast MAC, not an endpoint's`);
  return mac;
}

// Kernel interface names: at most 15 bytes, no '/', no whitespace, not "." or "..".
export function checkInterfaceName(field: string, value: string): string {
  if (value.length === 0 || Buffer.byteLength(value) > 15 || /[\s/:]/.test(value) || value === '.' || value === '..') {
    throw new ValidationError(
      field,
      `"${value}" is not a valid interface name (1-15 characters, no '/', ':' or spaces)`,
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
  if (host === '') throw new ValidationError(field, `"${value}" has no host; expected HOST:PORT`);
  if (port === undefined) {
    if (defaultPort === undefined) throw new ValidationError(field, `"${value}" has no port; expected HOST:PORT`);
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
      `"${value}" must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return value;
}
