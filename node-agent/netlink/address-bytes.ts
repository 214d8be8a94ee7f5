import { isIPv4, isIPv6 } from 'node:net';
import { NetlinkDecodeError } from './errors';

// IP and MAC addresses as the kernel carries them: raw network-order bytes.

export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new TypeError(`"${ip}" is not an IPv4 or IPv6 address`);
  let text = ip.split('%')[0];
  if (text.includes('.')) {
    // IPv4-suffixed form such as ::ffff:192.0.2.1: rewrite the suffix as two hex groups.
    const cut = text.lastIndexOf(':') + 1;
    const v4 = text.slice(cut).split('.').map(Number);
    text = `${text.slice(0, cut)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(rest);
  const groups =
    rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

// A prefix (10.42.0.0/24; a bare address is a host prefix) as its address bytes and length.
export function splitPrefix(prefix: string): { address: Buffer; length: number } {
  const [ip, len] = prefix.split('/');
  const address = ipToBytes(ip);
  const length = len === undefined ? address.length * 8 : Number(len);
  if (!Number.isInteger(length) || length < 0 || length > address.length * 8)
    throw new TypeError(`"${prefix}" is not a valid prefix`);
  return { address, length };
}

export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new NetlinkDecodeError(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // RFC 5952: compress the longest run (≥2) of zero groups.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export const ipFamilyBytes = (ip: string): 4 | 16 => (isIPv4(ip) ? 4 : 16);

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

// Parses aa:bb:cc:dd:ee:ff into buf at offset, without allocating.
export function writeMac(buf: Buffer, offset: number, mac: string): void {
  let pos = 0;
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(mac.charCodeAt(pos));
    const lo = hexDigit(mac.charCodeAt(pos + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(pos + 2) !== 58))
      throw new TypeError(`"${mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    buf[offset + i] = (hi << 4) | lo;
    pos += 3;
  }
  if (mac.length !== 17) throw new TypeError(`"${mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
}

export function macToBytes(mac: string): Buffer {
  const out = Buffer.alloc(6);
  writeMac(out, 0, mac);
  return out;
}

// Writes an IPv4 (4 bytes) or IPv6 (16 bytes) address into buf at offset.
export function writeIp(buf: Buffer, offset: number, ip: string, v4: boolean): void {
  if (!v4) {
    ipToBytes(ip).copy(buf, offset);
    return;
  }
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= ip.length; i++) {
    const code = i < ip.length ? ip.charCodeAt(i) : 46;
    if (code === 46) {
      if (digits === 0 || value > 255 || part > 3) throw new TypeError(`"${ip}" is not an IPv4 address`);
      buf[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57 && digits < 3) {
      value = value * 10 + code - 48;
      digits++;
    } else {
      throw new TypeError(`"${ip}" is not an IPv4 address`);
    }
  }
  if (part !== 4) throw new TypeError(`"${ip}" is not an IPv4 address`);
}

const HEX = '0123456789abcdef';
const macCodes = new Array<number>(17).fill(58);

// Built from character codes so the result is one flat string, not a rope of concatenations:
// a dump of 100,000 entries keeps 100,000 of them.
export function bytesToMac(bytes: Buffer): string {
  if (bytes.length !== 6) return Array.from(bytes, (b) => HEX[b >> 4] + HEX[b & 15]).join(':');
  for (let i = 0; i < 6; i++) {
    macCodes[i * 3] = HEX.charCodeAt(bytes[i] >> 4);
    macCodes[i * 3 + 1] = HEX.charCodeAt(bytes[i] & 15);
  }
  return String.fromCharCode.apply(null, macCodes);
}
