import { NLA_HDRLEN, NLA_TYPE_MASK } from './constants';
import { NetlinkDecodeError } from './errors';

// Attributes by type; a type that appears more than once keeps the last value.
export type Attributes = Array<Buffer | undefined>;

export function parseAttributes(buf: Buffer, start = 0, end = buf.length): Attributes {
  const attrs: Attributes = [];
  let offset = start;
  while (offset + NLA_HDRLEN <= end) {
    const length = buf.readUInt16LE(offset);
    const type = buf.readUInt16LE(offset + 2) & NLA_TYPE_MASK;
    if (length < NLA_HDRLEN || offset + length > end) {
      throw new NetlinkDecodeError(`attribute ${type} at offset ${offset} has length ${length}, past the end (${end})`);
    }
    attrs[type] = buf.subarray(offset + NLA_HDRLEN, offset + length);
    offset += (length + 3) & ~3;
  }
  return attrs;
}

function sized(value: Buffer | undefined, size: number, what: string): Buffer | undefined {
  if (value === undefined) return undefined;
  if (value.length < size) throw new NetlinkDecodeError(`${what}: ${value.length} bytes, expected ${size}`);
  return value;
}

export const attrU8 = (v: Buffer | undefined): number | undefined => sized(v, 1, 'u8 attribute')?.readUInt8(0);
export const attrU16 = (v: Buffer | undefined): number | undefined => sized(v, 2, 'u16 attribute')?.readUInt16LE(0);
export const attrU16BE = (v: Buffer | undefined): number | undefined => sized(v, 2, 'be16 attribute')?.readUInt16BE(0);
export const attrU32 = (v: Buffer | undefined): number | undefined => sized(v, 4, 'u32 attribute')?.readUInt32LE(0);
export const attrU32BE = (v: Buffer | undefined): number | undefined => sized(v, 4, 'be32 attribute')?.readUInt32BE(0);
export const attrU64BE = (v: Buffer | undefined): bigint | undefined =>
  sized(v, 8, 'be64 attribute')?.readBigUInt64BE(0);

export function attrString(v: Buffer | undefined): string | undefined {
  if (v === undefined) return undefined;
  const nul = v.indexOf(0);
  return v.toString('utf8', 0, nul < 0 ? v.length : nul);
}

export const attrNested = (v: Buffer | undefined): Attributes | undefined =>
  v === undefined ? undefined : parseAttributes(v);
