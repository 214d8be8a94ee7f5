import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { LzwError, lzwCompress, lzwDecompress } from '../src/lzw';
import { prng } from './helpers';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function randomData(n: number, seed: number, alphabet = 256): Buffer {
  const r = prng(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * alphabet);
  return out;
}

// Packs codes LSB-first, as the GIF flavour of LZW does.
function packCodes(codes: Array<[number, number]>): Buffer {
  const out: number[] = [];
  let bits = 0;
  let count = 0;
  for (const [code, width] of codes) {
    bits |= code << count;
    count += width;
    while (count >= 8) {
      out.push(bits & 0xff);
      bits >>>= 8;
      count -= 8;
    }
  }
  if (count > 0) out.push(bits & 0xff);
  return Buffer.from(out);
}

// A deliberately plain encoder written from the spec's description (§4.1), with a Map for the
// table, to cross-check the optimised one byte for byte.
function referenceCompress(input: Buffer): Buffer {
  const codes: Array<[number, number]> = [];
  let width = 9;
  let hi = 257;
  let table = new Map<string, number>();
  const incHi = (): boolean => {
    hi++;
    if (hi === 1 << width) width++;
    if (hi === 4095) {
      codes.push([256, width]);
      width = 9;
      hi = 257;
      table = new Map();
      return false;
    }
    return true;
  };
  if (input.length > 0) {
    let code = input[0];
    for (let i = 1; i < input.length; i++) {
      const key = `${code},${input[i]}`;
      const found = table.get(key);
      if (found !== undefined) {
        code = found;
        continue;
      }
      codes.push([code, width]);
      code = input[i];
      if (incHi()) table.set(key, hi);
    }
    codes.push([code, width]);
    incHi();
  }
  codes.push([257, width]);
  return packCodes(codes);
}

describe('lzw', () => {
  it('matches the spec test vector', () => {
    const input = hex('04 68 65 6c 6c 6f 20 68 65 6c 6c 6f 20 68 65 6c 6c 6f');
    const expected = hex('04 d0 94 61 c3 e6 0d 88 81 05 0f 26 34 18 10');
    assert.deepEqual(lzwCompress(input), expected);
    assert.deepEqual(lzwDecompress(expected), input);
    assert.deepEqual(referenceCompress(input), expected);
  });

  it('compresses empty input to just the end code and back', () => {
    const c = lzwCompress(Buffer.alloc(0));
    assert.deepEqual(c, packCodes([[257, 9]]));
    assert.deepEqual(c, hex('01 01'));
    assert.deepEqual(lzwDecompress(c), Buffer.alloc(0));
  });

  it('round-trips a single byte of every value', () => {
    for (let b = 0; b < 256; b++) {
      const input = Buffer.from([b]);
      const c = lzwCompress(input);
      assert.deepEqual(
        c,
        packCodes([
          [b, 9],
          [257, 9],
        ]),
      );
      assert.deepEqual(lzwDecompress(c), input);
    }
  });

  it('round-trips the KwKwK case (runs of one byte)', () => {
    for (const n of [2, 3, 4, 5, 10, 100, 1000, 5000, 100_000]) {
      const input = Buffer.alloc(n, 0x61);
      const c = lzwCompress(input);
      assert.deepEqual(lzwDecompress(c), input, `run of ${n}`);
      assert.deepEqual(c, referenceCompress(input), `run of ${n}`);
    }
  });

  it('round-trips repetitive data and actually compresses it', () => {
    const text = Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(4000));
    const c = lzwCompress(text);
    assert.ok(c.length < text.length / 5, `${c.length} vs ${text.length}`);
    assert.deepEqual(lzwDecompress(c), text);
    assert.deepEqual(c, referenceCompress(text));
  });

  it('round-trips random data of many sizes up to 200 KB, crossing the 4095-code table reset', () => {
    const sizes = [
      2, 7, 100, 255, 256, 257, 511, 512, 1000, 1400, 3000, 3837, 3838, 3839, 4095, 4096, 5000, 10_000, 65_536, 200_000,
    ];
    for (const [i, n] of sizes.entries()) {
      const input = randomData(n, i + 1);
      const c = lzwCompress(input);
      assert.deepEqual(lzwDecompress(c), input, `random ${n} bytes`);
      assert.deepEqual(c, referenceCompress(input), `random ${n} bytes (reference encoder)`);
    }
    // crypto-random too (different distribution), 200 KB.
    const input = randomBytes(200_000);
    assert.deepEqual(lzwDecompress(lzwCompress(input)), input);
  });

  it('round-trips low-entropy random data (small alphabets fill the table in long codes)', () => {
    for (const alphabet of [2, 4, 16]) {
      const input = randomData(200_000, alphabet, alphabet);
      const c = lzwCompress(input);
      assert.deepEqual(lzwDecompress(c), input, `alphabet ${alphabet}`);
      assert.deepEqual(c, referenceCompress(input), `alphabet ${alphabet}`);
    }
  });

  it('emits a clear code once the table reaches 4095 codes, and decodes through it', () => {
    // Random data defines one code per output code: 4095 - 258 + 1 codes until the clear.
    const input = randomData(20_000, 42);
    const c = lzwCompress(input);
    // Read the codes back and find the clears.
    let bits = 0;
    let count = 0;
    let pos = 0;
    let width = 9;
    let hi = 257;
    let clears = 0;
    for (;;) {
      while (count < width) {
        bits |= c[pos++] << count;
        count += 8;
      }
      const code = bits & ((1 << width) - 1);
      bits >>>= width;
      count -= width;
      if (code === 256) {
        clears++;
        width = 9;
        hi = 257;
        continue;
      }
      if (code === 257) break;
      hi++;
      if (hi >= 1 << width && width < 12) width++;
    }
    assert.ok(clears >= 2, `expected at least two clear codes, saw ${clears}`);
    assert.deepEqual(lzwDecompress(c), input);
  });

  it('decodes a stream whose encoder never clears (table full at 12 bits)', () => {
    // Build codes by hand: 4000 literals with no clear. The decoder stops adding entries at 4095
    // and keeps decoding literals at 12 bits.
    const r = prng(7);
    const codes: Array<[number, number]> = [];
    const expected: number[] = [];
    let hi = 257;
    let width = 9;
    for (let i = 0; i < 4000; i++) {
      const b = Math.floor(r() * 256);
      codes.push([b, width]);
      expected.push(b);
      hi++;
      if (hi >= 1 << width) {
        if (width === 12) hi--;
        else width++;
      }
    }
    codes.push([257, width]);
    assert.deepEqual(lzwDecompress(packCodes(codes)), Buffer.from(expected));
  });

  it('rejects every truncation of a valid stream', () => {
    const input = Buffer.from('hello hello hello, this is a test of truncation '.repeat(20));
    const c = lzwCompress(input);
    for (let i = 0; i < c.length; i++) {
      assert.throws(() => lzwDecompress(c.subarray(0, i)), LzwError, `prefix of ${i} bytes`);
    }
    assert.throws(() => lzwDecompress(Buffer.alloc(0)), LzwError);
  });

  it('rejects invalid codes', () => {
    // A first code above the next code to be defined.
    assert.throws(
      () =>
        lzwDecompress(
          packCodes([
            [300, 9],
            [257, 9],
          ]),
        ),
      LzwError,
    );
    // A code equal to hi with nothing before it (KwKwK needs a previous code).
    assert.throws(
      () =>
        lzwDecompress(
          packCodes([
            [258, 9],
            [257, 9],
          ]),
        ),
      LzwError,
    );
    // After one literal, 258 is the KwKwK code (valid); 259 is not defined yet.
    assert.deepEqual(
      lzwDecompress(
        packCodes([
          [0x61, 9],
          [258, 9],
          [257, 9],
        ]),
      ),
      Buffer.from('aaa'),
    );
    assert.throws(
      () =>
        lzwDecompress(
          packCodes([
            [0x61, 9],
            [259, 9],
            [257, 9],
          ]),
        ),
      LzwError,
    );
    // After a clear, the table is empty again.
    assert.throws(
      () =>
        lzwDecompress(
          packCodes([
            [0x61, 9],
            [0x62, 9],
            [256, 9],
            [258, 9],
            [257, 9],
          ]),
        ),
      LzwError,
    );
    // Random garbage either decodes to something or fails with LzwError, never anything else.
    const r = prng(99);
    for (let i = 0; i < 2000; i++) {
      const junk = randomData(1 + Math.floor(r() * 64), 1000 + i);
      try {
        lzwDecompress(junk, 1 << 16);
      } catch (err) {
        assert.ok(err instanceof LzwError, `unexpected ${String(err)}`);
      }
    }
  });

  it('enforces the maxOutput bound', () => {
    const input = Buffer.alloc(100_000, 0x41);
    const c = lzwCompress(input);
    assert.ok(c.length < 2000);
    assert.throws(() => lzwDecompress(c, 50_000), LzwError);
    assert.throws(() => lzwDecompress(c, input.length - 1), LzwError);
    assert.deepEqual(lzwDecompress(c, input.length), input);
    // A bomb: a long run of ever-longer KwKwK codes never exceeds the bound.
    const codes: Array<[number, number]> = [[0x41, 9]];
    let hi = 258;
    let width = 9;
    for (let i = 0; i < 3800; i++) {
      codes.push([hi, width]);
      hi++;
      if (hi >= 1 << width && width < 12) width++;
    }
    codes.push([257, width]);
    const bomb = packCodes(codes);
    assert.throws(() => lzwDecompress(bomb, 1 << 20), LzwError);
    // And without a tight bound it expands to the sum 1 + 2 + ... (each code one longer).
    const expanded = lzwDecompress(bomb, 64 << 20);
    assert.equal(expanded.length, 1 + (3800 * 3801) / 2 + 3800);
    assert.ok(expanded.every((b) => b === 0x41));
  });
});
