import { isIPv4, isIPv6 } from 'node:net';
import { NodeStateType, Vsn } from './messages';

// A member as the application sees it.
export interface Node {
  name: string;
  addr: string;
  port: number;
  meta: Buffer;
  state: NodeStateType;
  incarnation: number;
  // [PMin, PMax, PCur, DMin, DMax, DCur]
  vsn: number[];
}

export const stateName = (s: NodeStateType): 'alive' | 'suspect' | 'dead' | 'left' =>
  (['alive', 'suspect', 'dead', 'left'] as const)[s];

// Addresses travel as raw bytes, 4 or 16 long (IPv4 may come as ::ffff:a.b.c.d): normalised to text.
export function addrToString(addr: Buffer): string {
  if (addr.length === 4) return [...addr].join('.');
  if (addr.length === 16) {
    const mapped = addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
    if (mapped) return [...addr.subarray(12)].join('.');
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i).toString(16));
    return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  }
  return '';
}

// Our own address always goes out in one form: 4 bytes for IPv4, 16 for IPv6 (an IPv4-mapped
// IPv6 address stays 16 bytes).
export function addrToBytes(addr: string): Buffer {
  if (isIPv4(addr)) return Buffer.from(addr.split('.').map(Number));
  const withoutZone = addr.replace(/%.*$/, '');
  if (!isIPv6(withoutZone)) throw new RangeError(`"${addr}" is not an IP address`);
  // Groups of one side of "::"; a dotted IPv4 tail counts as two groups.
  const groups = (side: string): number[] =>
    side === ''
      ? []
      : side.split(':').flatMap((g) => {
          if (!isIPv4(g)) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = withoutZone.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all =
    tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function sameAddr(a: Buffer, b: Buffer): boolean {
  return addrToString(a) === addrToString(b);
}

export const PROTOCOL_MIN = 1;
export const PROTOCOL_MAX = 5;

export function makeVsn(
  protocolVersion: number,
  delegateMin: number,
  delegateMax: number,
  delegateVersion: number,
): Vsn {
  return [PROTOCOL_MIN, PROTOCOL_MAX, protocolVersion, delegateMin, delegateMax, delegateVersion];
}
