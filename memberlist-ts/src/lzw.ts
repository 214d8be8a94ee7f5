// Go's compress/lzw with LSB bit order and 8-bit literals (the GIF flavour): what memberlist's
// compress message carries. Codes 0-255 are literals, 256 clears, 257 ends the stream; widths grow
// from 9 to 12 bits.

const CLEAR = 256;
const EOF = 257;
const MAX_WIDTH = 12;
const MAX_CODE = (1 << MAX_WIDTH) - 1;

export class LzwError extends Error {
  override readonly name = 'LzwError';
}

class BitWriter {
  private bits = 0;
  private count = 0;
  private readonly out: number[] = [];

  write(code: number, width: number): void {
    this.bits |= code << this.count;
    this.count += width;
    while (this.count >= 8) {
      this.out.push(this.bits & 0xff);
      this.bits >>>= 8;
      this.count -= 8;
    }
  }

  finish(): Buffer {
    if (this.count > 0) this.out.push(this.bits & 0xff);
    return Buffer.from(this.out);
  }
}

export function lzwCompress(input: Buffer): Buffer {
  const w = new BitWriter();
  let width = 9;
  let hi = EOF;
  // (prefix code << 8 | byte) -> code
  let table = new Map<number, number>();
  // Advances to the next code; at the last code, emits a clear and starts over (returns false).
  const incHi = (): boolean => {
    hi++;
    if (hi === 1 << width) width++;
    if (hi === MAX_CODE) {
      w.write(CLEAR, width);
      width = 9;
      hi = EOF;
      table = new Map();
      return false;
    }
    return true;
  };
  if (input.length > 0) {
    let code = input[0];
    for (let i = 1; i < input.length; i++) {
      const key = (code << 8) | input[i];
      const found = table.get(key);
      if (found !== undefined) {
        code = found;
        continue;
      }
      w.write(code, width);
      code = input[i];
      if (incHi()) table.set(key, hi);
    }
    w.write(code, width);
    incHi();
  }
  w.write(EOF, width);
  return w.finish();
}

// maxOutput bounds what a hostile stream can make us allocate.
export function lzwDecompress(input: Buffer, maxOutput = 40 * 1024 * 1024): Buffer {
  const prefix = new Uint16Array(1 << MAX_WIDTH);
  const suffix = new Uint8Array(1 << MAX_WIDTH);
  const scratch = new Uint8Array(1 << MAX_WIDTH);
  const chunks: Buffer[] = [];
  let total = 0;
  let width = 9;
  // The code the next expansion defines; -1 for last means "nothing to extend".
  let hi = EOF;
  let last = -1;
  let bits = 0;
  let count = 0;
  let pos = 0;
  for (;;) {
    while (count < width) {
      if (pos >= input.length) throw new LzwError('compressed data ended without an end code');
      bits |= input[pos++] << count;
      count += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    count -= width;
    if (code === CLEAR) {
      width = 9;
      hi = EOF;
      last = -1;
      continue;
    }
    if (code === EOF) return Buffer.concat(chunks, total);
    let i = scratch.length;
    if (code < CLEAR) {
      scratch[--i] = code;
      if (last >= 0) {
        suffix[hi] = code;
        prefix[hi] = last;
      }
    } else if (code <= hi && code > EOF) {
      let c = code;
      if (code === hi) {
        if (last < 0) throw new LzwError(`invalid code ${code}`);
        // KwKwK: the last expansion followed by its own first byte.
        c = last;
        while (c >= CLEAR) c = prefix[c];
        scratch[--i] = c;
        c = last;
      }
      while (c >= CLEAR) {
        scratch[--i] = suffix[c];
        c = prefix[c];
      }
      scratch[--i] = c;
      if (last >= 0) {
        suffix[hi] = c;
        prefix[hi] = last;
      }
    } else {
      throw new LzwError(`invalid code ${code}`);
    }
    total += scratch.length - i;
    if (total > maxOutput) throw new LzwError(`decompressed data exceeds ${maxOutput} bytes`);
    chunks.push(Buffer.from(scratch.subarray(i)));
    last = code;
    hi++;
    if (hi >= 1 << width) {
      if (width === MAX_WIDTH) {
        // Table full: stop defining codes until a clear.
        last = -1;
        hi--;
      } else {
        width++;
      }
    }
  }
}
