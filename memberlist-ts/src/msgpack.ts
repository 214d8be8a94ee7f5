// The msgpack dialect of hashicorp/go-msgpack with a zero MsgpackHandle, which memberlist uses:
// structs are maps keyed by Go field names in byte-sorted order, strings and byte slices both use
// the old "raw" str family (fixstr, str16, str32; never str8 or bin), integers take their smallest
// form. Decoding is lenient the way Go's is (str8 and bin accepted), and keeps str values as raw
// bytes: Addr, Meta, Vsn and Payload are not text.

export class MsgpackError extends Error {
  override readonly name = 'MsgpackError';
}

// Thrown when the buffer ends mid-value: a stream reader waits for more bytes and tries again.
export class NeedMoreData extends MsgpackError {}

export type Value =
  null | boolean | number | bigint | Buffer | Value[] | { [key: string]: Value | undefined } | Map<string, Value>;

// Limits so a hostile length can never make us allocate or loop without bound.
const MAX_CONTAINER = 1 << 20;
const MAX_DEPTH = 32;

class Writer {
  private chunks: Buffer[] = [];
  private size = 0;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  byte(b: number): void {
    this.push(Buffer.from([b]));
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

function writeRaw(w: Writer, bytes: Buffer): void {
  const n = bytes.length;
  if (n < 32) w.byte(0xa0 | n);
  else if (n < 65536) {
    const h = Buffer.alloc(3);
    h[0] = 0xda;
    h.writeUInt16BE(n, 1);
    w.push(h);
  } else {
    const h = Buffer.alloc(5);
    h[0] = 0xdb;
    h.writeUInt32BE(n, 1);
    w.push(h);
  }
  w.push(bytes);
}

function writeInt(w: Writer, v: number | bigint): void {
  if (typeof v === 'bigint') {
    if (v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return writeInt(w, Number(v));
    if (v < 0n) throw new MsgpackError(`negative bigint ${v} is not supported`);
    const b = Buffer.alloc(9);
    b[0] = 0xcf;
    b.writeBigUInt64BE(v, 1);
    return w.push(b);
  }
  if (v >= 0) {
    if (v < 128) return w.byte(v);
    if (v < 0x100) return w.push(Buffer.from([0xcc, v]));
    if (v < 0x10000) {
      const b = Buffer.alloc(3);
      b[0] = 0xcd;
      b.writeUInt16BE(v, 1);
      return w.push(b);
    }
    if (v < 0x100000000) {
      const b = Buffer.alloc(5);
      b[0] = 0xce;
      b.writeUInt32BE(v, 1);
      return w.push(b);
    }
    const b = Buffer.alloc(9);
    b[0] = 0xcf;
    b.writeBigUInt64BE(BigInt(v), 1);
    return w.push(b);
  }
  if (v >= -32) return w.byte(v & 0xff);
  if (v >= -128) return w.push(Buffer.from([0xd0, v & 0xff]));
  if (v >= -32768) {
    const b = Buffer.alloc(3);
    b[0] = 0xd1;
    b.writeInt16BE(v, 1);
    return w.push(b);
  }
  if (v >= -2147483648) {
    const b = Buffer.alloc(5);
    b[0] = 0xd2;
    b.writeInt32BE(v, 1);
    return w.push(b);
  }
  const b = Buffer.alloc(9);
  b[0] = 0xd3;
  b.writeBigInt64BE(BigInt(v), 1);
  w.push(b);
}

function writeLength(w: Writer, n: number, fix: number, fixMax: number, c16: number, c32: number): void {
  if (n <= fixMax) return w.byte(fix | n);
  if (n < 65536) {
    const b = Buffer.alloc(3);
    b[0] = c16;
    b.writeUInt16BE(n, 1);
    return w.push(b);
  }
  const b = Buffer.alloc(5);
  b[0] = c32;
  b.writeUInt32BE(n, 1);
  w.push(b);
}

function writeValue(w: Writer, v: Value | undefined, depth: number): void {
  if (depth > MAX_DEPTH) throw new MsgpackError('value nested too deeply');
  if (v === null || v === undefined) return w.byte(0xc0);
  if (typeof v === 'boolean') return w.byte(v ? 0xc3 : 0xc2);
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return writeInt(w, v);
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(v, 1);
    return w.push(b);
  }
  if (typeof v === 'bigint') return writeInt(w, v);
  if (Buffer.isBuffer(v)) return writeRaw(w, v);
  if (Array.isArray(v)) {
    writeLength(w, v.length, 0x90, 15, 0xdc, 0xdd);
    for (const item of v) writeValue(w, item, depth + 1);
    return;
  }
  if (v instanceof Map) {
    writeLength(w, v.size, 0x80, 15, 0xde, 0xdf);
    for (const [k, item] of v) {
      writeRaw(w, Buffer.from(k));
      writeValue(w, item, depth + 1);
    }
    return;
  }
  // A Go struct: fields in byte-sorted name order; undefined fields are omitted (omitempty).
  const keys = Object.keys(v)
    .filter((k) => v[k] !== undefined)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  writeLength(w, keys.length, 0x80, 15, 0xde, 0xdf);
  for (const k of keys) {
    writeRaw(w, Buffer.from(k));
    writeValue(w, v[k], depth + 1);
  }
}

// Strings are written as their UTF-8 bytes in the raw format; use Buffer for binary fields.
export function encode(v: Value | string): Buffer {
  const w = new Writer();
  writeValue(w, toValue(v), 0);
  return w.finish();
}

function toValue(v: unknown): Value {
  if (typeof v === 'string') return Buffer.from(v);
  if (Array.isArray(v)) return v.map(toValue);
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Map)) {
    const out: { [key: string]: Value | undefined } = {};
    for (const [k, x] of Object.entries(v)) out[k] = x === undefined ? undefined : toValue(x);
    return out;
  }
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, toValue(x)]));
  return v as Value;
}

export class Reader {
  constructor(
    private readonly buf: Buffer,
    public offset = 0,
  ) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length)
      throw new NeedMoreData(`msgpack value needs ${n} more bytes at offset ${this.offset}`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }

  private take(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  private int(size: 1 | 2 | 4 | 8, signed: boolean): number | bigint {
    this.need(size);
    const b = this.buf;
    const o = this.offset;
    this.offset += size;
    if (size === 1) return signed ? b.readInt8(o) : b[o];
    if (size === 2) return signed ? b.readInt16BE(o) : b.readUInt16BE(o);
    if (size === 4) return signed ? b.readInt32BE(o) : b.readUInt32BE(o);
    const big = signed ? b.readBigInt64BE(o) : b.readBigUInt64BE(o);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  private container(n: number): number {
    if (n > MAX_CONTAINER) throw new MsgpackError(`container of ${n} entries exceeds the limit`);
    return n;
  }

  read(depth = 0): Value {
    if (depth > MAX_DEPTH) throw new MsgpackError('value nested too deeply');
    const t = this.u8();
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if ((t & 0xe0) === 0xa0) return Buffer.from(this.take(t & 0x1f));
    if ((t & 0xf0) === 0x90) return this.array(t & 0x0f, depth);
    if ((t & 0xf0) === 0x80) return this.map(t & 0x0f, depth);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
      case 0xd9:
        return Buffer.from(this.take(this.u8()));
      case 0xc5:
      case 0xda:
        return Buffer.from(this.take(this.int(2, false) as number));
      case 0xc6:
      case 0xdb:
        return Buffer.from(this.take(this.int(4, false) as number));
      case 0xca: {
        this.need(4);
        const f = this.buf.readFloatBE(this.offset);
        this.offset += 4;
        return f;
      }
      case 0xcb: {
        this.need(8);
        const f = this.buf.readDoubleBE(this.offset);
        this.offset += 8;
        return f;
      }
      case 0xcc:
        return this.int(1, false);
      case 0xcd:
        return this.int(2, false);
      case 0xce:
        return this.int(4, false);
      case 0xcf:
        return this.int(8, false);
      case 0xd0:
        return this.int(1, true);
      case 0xd1:
        return this.int(2, true);
      case 0xd2:
        return this.int(4, true);
      case 0xd3:
        return this.int(8, true);
      case 0xdc:
        return this.array(this.int(2, false) as number, depth);
      case 0xdd:
        return this.array(this.container(this.int(4, false) as number), depth);
      case 0xde:
        return this.map(this.int(2, false) as number, depth);
      case 0xdf:
        return this.map(this.container(this.int(4, false) as number), depth);
      default:
        throw new MsgpackError(`unsupported msgpack type 0x${t.toString(16)}`);
    }
  }

  private array(n: number, depth: number): Value[] {
    const out: Value[] = [];
    for (let i = 0; i < n; i++) out.push(this.read(depth + 1));
    return out;
  }

  // Keys must be strings (as Go requires for structs); values keep their decoded form.
  private map(n: number, depth: number): { [key: string]: Value } {
    const out = Object.create(null) as { [key: string]: Value };
    for (let i = 0; i < n; i++) {
      const k = this.read(depth + 1);
      if (!Buffer.isBuffer(k)) throw new MsgpackError('map key is not a string');
      out[k.toString('utf8')] = this.read(depth + 1);
    }
    return out;
  }
}

export function decode(buf: Buffer): Value {
  return new Reader(buf).read();
}
