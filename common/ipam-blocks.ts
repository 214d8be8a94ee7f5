import * as ipaddr from 'ipaddr.js';
import { ValidationError, parseCidr, shown } from './validation';

// How a VNI's subnet is cut into the blocks the server gives hosts (Calico's block affinity): /26 for
// IPv4 and /122 for IPv6, 64 addresses either way, or the whole subnet when it is smaller. Block i is
// the i-th of that size from the subnet's start. The subnet's first address is the gateway (see
// l3-subnet.ts) and is never handed out, nor its network address nor, in IPv4, its broadcast address.

export const BLOCK_PREFIX = { 4: 26, 6: 122 } as const;

export interface SubnetBlocks {
  subnet: string;
  family: 4 | 6;
  // The subnet's network address as a number.
  base: bigint;
  prefixLength: number;
  blockPrefix: number;
  // How many blocks the subnet holds.
  count: bigint;
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

function toNumber(address: string): bigint {
  return ipaddr
    .parse(address)
    .toByteArray()
    .reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

function toAddress(n: bigint, family: 4 | 6): string {
  const bytes: number[] = [];
  for (let i = 0; i < bitsOf(family) / 8; i++) bytes.unshift(Number((n >> BigInt(8 * i)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

export function subnetBlocks(subnet: string): SubnetBlocks {
  const { address, prefixLength, family } = parseCidr('subnet', subnet);
  const hostBits = BigInt(bitsOf(family) - prefixLength);
  const base = (toNumber(address) >> hostBits) << hostBits;
  const blockPrefix = Math.max(prefixLength, BLOCK_PREFIX[family]);
  return { subnet, family, base, prefixLength, blockPrefix, count: 1n << BigInt(blockPrefix - prefixLength) };
}

const blockSize = (s: SubnetBlocks) => 1n << BigInt(bitsOf(s.family) - s.blockPrefix);

export function blockCidr(s: SubnetBlocks, index: bigint): string {
  return `${toAddress(s.base + index * blockSize(s), s.family)}/${s.blockPrefix}`;
}

// The block an address (with or without a prefix length) falls in; undefined outside the subnet.
export function blockIndexOf(s: SubnetBlocks, ip: string): bigint | undefined {
  const address = ip.split('/')[0];
  if (!ipaddr.isValid(address) || (ipaddr.parse(address).kind() === 'ipv4' ? 4 : 6) !== s.family) return undefined;
  const offset = toNumber(address) - s.base;
  if (offset < 0n || offset >= s.count * blockSize(s)) return undefined;
  return offset / blockSize(s);
}

// The index of a block given as a CIDR; refused unless it is exactly one of the subnet's blocks.
export function blockIndexOfCidr(s: SubnetBlocks, cidr: string, field = 'block'): bigint {
  const index = blockIndexOf(s, cidr);
  if (index === undefined || blockCidr(s, index) !== cidr)
    throw new ValidationError(field, `${shown(cidr)} is not a /${s.blockPrefix} block of ${s.subnet}`);
  return index;
}

// The block's addresses a host may hand out, lowest first, each with the subnet's prefix length.
export function usableAddresses(s: SubnetBlocks, index: bigint): string[] {
  const first = s.base + index * blockSize(s);
  const last = s.base + (s.count * blockSize(s) - 1n);
  const excluded = new Set([s.base, s.base + 1n, ...(s.family === 4 ? [last] : [])]);
  const out: string[] = [];
  for (let n = first; n < first + blockSize(s); n++)
    if (!excluded.has(n)) out.push(`${toAddress(n, s.family)}/${s.prefixLength}`);
  return out;
}

// Two spellings of one address (2001:db8::1 and 2001:0db8::1) are the same address.
export function sameAddress(a: string, b: string): boolean {
  const [x, y] = [a.split('/')[0], b.split('/')[0]];
  return ipaddr.isValid(x) && ipaddr.isValid(y) && toNumber(x) === toNumber(y) && x.includes(':') === y.includes(':');
}
