import { isIPv4 } from 'node:net';
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

export const stateName = (s: NodeStateType): 'alive' | 'suspect' | 'dead' | 'left' => (['alive', 'suspect', 'dead', 'left'] as const)[s];

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

// Our own address always goes out in one form: 4 bytes for IPv4, 16 for IPv6.
export function addrToBytes(addr: string): Buffer {
  if (isIPv4(addr)) return Buffer.from(addr.split('.').map(Number));
  const [head, tail] = addr.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const groups = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function sameAddr(a: Buffer, b: Buffer): boolean {
  return addrToString(a) === addrToString(b);
}

export const PROTOCOL_MIN = 1;
export const PROTOCOL_MAX = 5;

export function makeVsn(protocolVersion: number, delegateMin: number, delegateMax: number, delegateVersion: number): Vsn {
  return [PROTOCOL_MIN, PROTOCOL_MAX, protocolVersion, delegateMin, delegateMax, delegateVersion];
}
