import { NLA_F_NESTED, NLA_HDRLEN, NLMSG_HDRLEN, NLM_F_REQUEST } from './constants';
import { writeIp, writeMac } from './address-bytes';

const align4 = (n: number) => (n + 3) & ~3;

// Builds one netlink message in place: header, fixed family struct, then attributes. The socket
// fills in the sequence number when it sends. Bulk encoders reuse one writer through reset().
// Every write computes its offset before touching this.buf: reserving may replace the buffer.
export class MessageWriter {
  private buf: Buffer;
  private offset = NLMSG_HDRLEN;

  constructor(type: number, flags: number, sizeHint = 128) {
    this.buf = Buffer.alloc(Math.max(sizeHint, 64));
    this.reset(type, flags);
  }

  reset(type: number, flags: number): this {
    this.buf.fill(0, 0, this.offset);
    this.offset = NLMSG_HDRLEN;
    this.buf.writeUInt16LE(type, 4);
    this.buf.writeUInt16LE(flags | NLM_F_REQUEST, 6);
    return this;
  }

  private reserve(bytes: number): number {
    const start = this.offset;
    const needed = start + align4(bytes);
    if (needed > this.buf.length) {
      const grown = Buffer.alloc(Math.max(needed, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, start);
      this.buf = grown;
    }
    this.offset = needed;
    return start;
  }

  u8(value: number): this {
    const at = this.reserveRaw(1);
    this.buf.writeUInt8(value, at);
    return this;
  }
  u16(value: number): this {
    const at = this.reserveRaw(2);
    this.buf.writeUInt16LE(value, at);
    return this;
  }
  u32(value: number): this {
    const at = this.reserveRaw(4);
    this.buf.writeUInt32LE(value >>> 0, at);
    return this;
  }
  i32(value: number): this {
    const at = this.reserveRaw(4);
    this.buf.writeInt32LE(value, at);
    return this;
  }

  // Fixed structs are packed field by field; only attributes are 4-byte aligned.
  private reserveRaw(bytes: number): number {
    const start = this.offset;
    if (start + bytes > this.buf.length) {
      const grown = Buffer.alloc(Math.max(start + bytes + 64, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, start);
      this.buf = grown;
    }
    this.offset = start + bytes;
    return start;
  }

  // Pads the fixed struct to the 4-byte boundary attributes start on.
  alignStruct(): this {
    this.reserveRaw(align4(this.offset) - this.offset);
    return this;
  }

  attr(type: number, value: Buffer): this {
    const start = this.reserve(NLA_HDRLEN + value.length);
    this.buf.writeUInt16LE(NLA_HDRLEN + value.length, start);
    this.buf.writeUInt16LE(type, start + 2);
    value.copy(this.buf, start + NLA_HDRLEN);
    return this;
  }
  private scalar(type: number, size: number): number {
    const start = this.reserve(NLA_HDRLEN + size);
    this.buf.writeUInt16LE(NLA_HDRLEN + size, start);
    this.buf.writeUInt16LE(type, start + 2);
    return start + NLA_HDRLEN;
  }
  attrU8(type: number, value: number): this {
    const at = this.scalar(type, 1);
    this.buf.writeUInt8(value, at);
    return this;
  }
  attrU16(type: number, value: number): this {
    const at = this.scalar(type, 2);
    this.buf.writeUInt16LE(value, at);
    return this;
  }
  attrU16BE(type: number, value: number): this {
    const at = this.scalar(type, 2);
    this.buf.writeUInt16BE(value, at);
    return this;
  }
  attrU32(type: number, value: number): this {
    const at = this.scalar(type, 4);
    this.buf.writeUInt32LE(value >>> 0, at);
    return this;
  }
  attrU32BE(type: number, value: number): this {
    const at = this.scalar(type, 4);
    this.buf.writeUInt32BE(value >>> 0, at);
    return this;
  }
  attrU64BE(type: number, value: bigint): this {
    const at = this.scalar(type, 8);
    this.buf.writeBigUInt64BE(value, at);
    return this;
  }
  // Addresses are parsed straight into the message: no intermediate buffers on the bulk path.
  attrMac(type: number, mac: string): this {
    const at = this.scalar(type, 6);
    writeMac(this.buf, at, mac);
    return this;
  }
  attrIp(type: number, ip: string): this {
    const v4 = !ip.includes(':');
    const at = this.scalar(type, v4 ? 4 : 16);
    writeIp(this.buf, at, ip, v4);
    return this;
  }
  attrFlag(type: number): this {
    this.scalar(type, 0);
    return this;
  }
  attrString(type: number, value: string): this {
    const bytes = Buffer.byteLength(value);
    const at = this.scalar(type, bytes + 1);
    this.buf.write(value, at);
    this.buf[at + bytes] = 0;
    return this;
  }

  // Nested attributes: call nest(), write the children, then end() with the returned marker.
  nest(type: number): number {
    const start = this.reserve(NLA_HDRLEN);
    this.buf.writeUInt16LE(type | NLA_F_NESTED, start + 2);
    return start;
  }
  end(marker: number): this {
    this.buf.writeUInt16LE(this.offset - marker, marker);
    return this;
  }

  // The message, as a view of the writer's buffer: valid until the next reset().
  finish(): Buffer {
    this.buf.writeUInt32LE(this.offset, 0);
    return this.buf.subarray(0, this.offset);
  }
}
