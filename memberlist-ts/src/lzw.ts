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
  private out = Buffer.allocUnsafe(256);
  private length = 0;

  private push(byte: number): void {
    if (this.length === this.out.length) {
      const grown = Buffer.allocUnsafe(this.out.length * 2);
      this.out.copy(grown);
      this.out = grown;
    }
    this.out[this.length++] = byte;
  }

  write(code: number, width: number): void {
    this.bits |= code << this.count;
    this.count += width;
    while (this.count >= 8) {
      this.push(this.bits & 0xff);
      this.bits >>>= 8;
      this.count -= 8;
    }
  }

  finish(): Buffer {
    if (this.count > 0) this.push(this.bits & 0xff);
    return Buffer.from(this.out.subarray(0, this.length));
  }
}

// Open-addressing table of (prefix code << 8 | byte) -> code; at most 4095 - 257 entries between
// resets, so 8192 slots keep it sparse. Typed arrays: UDP packets are compressed by the thousand.
const TABLE_SIZE = 8192;
const tableKeys = new Int32Array(TABLE_SIZE);
const tableCodes = new Int16Array(TABLE_SIZE);

function slot(key: number): number {
  let h = ((key * 2654435761) >>> 19) & (TABLE_SIZE - 1);
  while (tableKeys[h] !== -1 && tableKeys[h] !== key) h = (h + 1) & (TABLE_SIZE - 1);
  return h;
}

export function lzwCompress(input: Buffer): Buffer {
  const w = new BitWriter();
  let width = 9;
  let hi = EOF;
  tableKeys.fill(-1);
  // Advances to the next code; at the last code, emits a clear and starts over (returns false).
  const incHi = (): boolean => {
    hi++;
    if (hi === 1 << width) width++;
    if (hi === MAX_CODE) {
      w.write(CLEAR, width);
      width = 9;
      hi = EOF;
      tableKeys.fill(-1);
      return false;
    }
    return true;
  };
  if (input.length > 0) {
    let code = input[0];
    for (let i = 1; i < input.length; i++) {
      const key = (code << 8) | input[i];
      const h = slot(key);
      if (tableKeys[h] === key) {
        code = tableCodes[h];
        continue;
      }
      w.write(code, width);
      code = input[i];
      if (incHi()) {
        // The slot found above is still free: nothing was inserted since, unless a reset emptied the table.
        tableKeys[h] = key;
        tableCodes[h] = hi;
      }
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
  let out = Buffer.allocUnsafe(Math.min(maxOutput, Math.max(1024, input.length * 4)));
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
    if (code === EOF) return Buffer.from(out.subarray(0, total));
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
    const n = scratch.length - i;
    if (total + n > maxOutput) throw new LzwError(`decompressed data exceeds ${maxOutput} bytes`);
    if (total + n > out.length) {
      const grown = Buffer.allocUnsafe(Math.min(maxOutput, Math.max(out.length * 2, total + n)));
      out.copy(grown, 0, 0, total);
      out = grown;
    }
    out.set(scratch.subarray(i), total);
    total += n;
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
