import * as C from './constants';
import { Attributes, parseAttributes } from './attributes';
import { NetlinkDecodeError } from './errors';
import { MessageWriter } from './message-writer';

// struct ndmsg, shared by bridge FDB entries (AF_BRIDGE) and IP neighbours (AF_INET/AF_INET6).
export interface NdHeader {
  family: number;
  ifindex: number;
  state: number;
  flags: number;
  type: number;
}

export const NDMSG_LEN = 12;

export function writeNdmsg(w: MessageWriter, h: NdHeader): void {
  w.u8(h.family).u8(0).u16(0).i32(h.ifindex).u16(h.state).u8(h.flags).u8(h.type);
}

export function readNdmsg(payload: Buffer): { header: NdHeader; attrs: Attributes } {
  if (payload.length < NDMSG_LEN)
    throw new NetlinkDecodeError(`neighbour message of ${payload.length} bytes is shorter than ndmsg`);
  return {
    header: {
      family: payload[0],
      ifindex: payload.readInt32LE(4),
      state: payload.readUInt16LE(8),
      flags: payload[10],
      type: payload[11],
    },
    attrs: parseAttributes(payload, NDMSG_LEN),
  };
}

export type NudState = 'permanent' | 'noarp' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'incomplete';

const NUD_BITS: Array<[NudState, number]> = [
  ['permanent', C.NUD_PERMANENT],
  ['noarp', C.NUD_NOARP],
  ['reachable', C.NUD_REACHABLE],
  ['stale', C.NUD_STALE],
  ['delay', C.NUD_DELAY],
  ['probe', C.NUD_PROBE],
  ['failed', C.NUD_FAILED],
  ['incomplete', C.NUD_INCOMPLETE],
];

export const nudBits = (state: NudState): number => NUD_BITS.find(([name]) => name === state)![1];

// The most significant state set (permanent before noarp before reachable, ...).
export function nudState(bits: number): NudState | undefined {
  for (const [name, bit] of NUD_BITS) if (bits & bit) return name;
  return undefined;
}

export type WriteMode = 'add' | 'replace' | 'append';

export function writeFlags(mode: WriteMode): number {
  if (mode === 'add') return C.NLM_F_CREATE | C.NLM_F_EXCL;
  if (mode === 'replace') return C.NLM_F_CREATE | C.NLM_F_REPLACE;
  return C.NLM_F_CREATE | C.NLM_F_APPEND;
}
