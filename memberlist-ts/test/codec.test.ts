import { strict as assert } from 'node:assert';
import { crc32 } from '../src/crc32';
import {
  DecodeError,
  MessageType,
  NodeStateType,
  decodeAck,
  decodeAlive,
  decodeCompressBody,
  decodeIndirectPing,
  decodeNack,
  decodePing,
  decodePushNodeState,
  decodePushPullHeader,
  decodeSuspectOrDead,
  encodeAck,
  encodeAlive,
  encodeCompressBody,
  encodeDead,
  encodeIndirectPing,
  encodeNack,
  encodePing,
  encodePushNodeState,
  encodePushPullHeader,
  encodeSuspect,
  parseBody,
  readStruct,
} from '../src/messages';
import { MsgpackError, NeedMoreData, Reader, Value, decode, encode } from '../src/msgpack';
import {
  PacketSecurity,
  compressMessage,
  decompressMessage,
  makeCompound,
  openPacket,
  sealPacket,
  splitCompound,
} from '../src/packet';
import { decodePushPull, encodePushPull } from '../src/stream';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const noSecurity: PacketSecurity = { keyring: undefined, encryptionVersion: 1, verifyIncoming: true };

// The worked examples of the wire protocol description (its appendix).
const ALIVE_HEX =
  '04 86 a4 41 64 64 72 a4 0a 00 00 05 ab 49 6e 63 61 72 6e 61 74 69 6f 6e 01 a4 4d 65 74 61 a2 ff 80 a4 4e 6f 64 65 a3 74 73 31 a4 50 6f 72 74 cd 1f 0a a3 56 73 6e a6 01 05 02 02 05 05';
const PING_HEX =
  '00 85 a4 4e 6f 64 65 a5 73 65 72 66 31 a5 53 65 71 4e 6f 07 aa 53 6f 75 72 63 65 41 64 64 72 a4 0a 00 00 05 aa 53 6f 75 72 63 65 4e 6f 64 65 a3 74 73 31 aa 53 6f 75 72 63 65 50 6f 72 74 cd 1f 0a';
const ACK_HEX = '02 82 a7 50 61 79 6c 6f 61 64 c0 a5 53 65 71 4e 6f 07';
const PUSH_PULL_HEADER_HEX = '06 83 a4 4a 6f 69 6e c3 a5 4e 6f 64 65 73 01 ac 55 73 65 72 53 74 61 74 65 4c 65 6e 00';
const JOIN_INTENT_HEX = '08 01 82 a5 4c 54 69 6d 65 05 a4 4e 6f 64 65 a3 74 73 31';

const ALIVE = {
  incarnation: 1,
  node: 'ts1',
  addr: Buffer.from([10, 0, 0, 5]),
  port: 7946,
  meta: Buffer.from([0xff, 0x80]),
  vsn: [1, 5, 2, 2, 5, 5],
};
const PING = { seqNo: 7, node: 'serf1', sourceAddr: Buffer.from([10, 0, 0, 5]), sourcePort: 7946, sourceNode: 'ts1' };

function body(message: Buffer) {
  return parseBody(message.subarray(1));
}

// Decoded maps have a null prototype: compare their entries.
function plain(v: Value): unknown {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === undefined ? undefined : plain(x)]));
}

describe('codec: worked bytes from the wire spec', () => {
  it('encodes alive byte for byte', () => {
    assert.deepEqual(encodeAlive(ALIVE), hex(ALIVE_HEX));
  });

  it('decodes alive back', () => {
    const buf = hex(ALIVE_HEX);
    assert.equal(buf[0], MessageType.Alive);
    const a = decodeAlive(body(buf));
    assert.equal(a.incarnation, 1);
    assert.equal(a.node, 'ts1');
    assert.deepEqual(a.addr, ALIVE.addr);
    assert.equal(a.port, 7946);
    assert.deepEqual(a.meta, ALIVE.meta);
    assert.deepEqual(a.vsn, [1, 5, 2, 2, 5, 5]);
  });

  it('seals alive with a CRC prefix (no compression, no keyring)', () => {
    const sealed = sealPacket(encodeAlive(ALIVE), { compress: false, crc: true, security: noSecurity });
    assert.deepEqual(sealed.subarray(0, 5), hex('0c 40 9f d3 1a'));
    assert.deepEqual(sealed.subarray(5), hex(ALIVE_HEX));
    assert.equal(crc32(hex(ALIVE_HEX)), 0x409fd31a);
    // openPacket strips and checks the CRC.
    assert.deepEqual(openPacket(sealed, noSecurity), hex(ALIVE_HEX));
  });

  it('openPacket drops a packet whose CRC does not match', () => {
    const sealed = sealPacket(encodeAlive(ALIVE), { compress: false, crc: true, security: noSecurity });
    sealed[sealed.length - 1] ^= 1;
    assert.throws(() => openPacket(sealed, noSecurity), DecodeError);
    const badCrc = Buffer.from(sealPacket(encodeAlive(ALIVE), { compress: false, crc: true, security: noSecurity }));
    badCrc[2] ^= 0x80;
    assert.throws(() => openPacket(badCrc, noSecurity), DecodeError);
  });

  it('openPacket accepts a packet without CRC and rejects a bare 5-byte CRC header', () => {
    assert.deepEqual(openPacket(hex(ALIVE_HEX), noSecurity), hex(ALIVE_HEX));
    const empty = Buffer.alloc(5);
    empty[0] = MessageType.HasCrc;
    empty.writeUInt32BE(crc32(Buffer.alloc(0)), 1);
    assert.throws(() => openPacket(empty, noSecurity), DecodeError);
  });

  it('sealPacket compresses only when it helps, and CRC covers the compressed bytes', () => {
    const small = encodeAck({ seqNo: 1, payload: null });
    assert.deepEqual(sealPacket(small, { compress: true, crc: false, security: noSecurity }), small);
    const big = encodeAck({ seqNo: 1, payload: Buffer.alloc(600, 0x61) });
    const sealed = sealPacket(big, { compress: true, crc: false, security: noSecurity });
    assert.equal(sealed[0], MessageType.Compress);
    assert.ok(sealed.length < big.length);
    assert.deepEqual(decompressMessage(openPacket(sealed, noSecurity).subarray(1)), big);
    const withCrc = sealPacket(big, { compress: true, crc: true, security: noSecurity });
    assert.equal(withCrc[0], MessageType.HasCrc);
    assert.equal(withCrc[5], MessageType.Compress);
    assert.equal(withCrc.readUInt32BE(1), crc32(withCrc.subarray(5)));
  });

  it('encodes ping byte for byte and decodes it back', () => {
    const buf = encodePing(PING);
    assert.deepEqual(buf, hex(PING_HEX));
    assert.equal(buf.length, 65);
    const p = decodePing(body(buf));
    assert.equal(p.seqNo, 7);
    assert.equal(p.node, 'serf1');
    assert.deepEqual(p.sourceAddr, PING.sourceAddr);
    assert.equal(p.sourcePort, 7946);
    assert.equal(p.sourceNode, 'ts1');
  });

  it('omits empty optional ping fields (omitempty)', () => {
    const buf = encodePing({ seqNo: 1, node: 'x', sourceAddr: Buffer.alloc(0), sourcePort: 0, sourceNode: '' });
    assert.deepEqual(buf, Buffer.concat([Buffer.from([0]), encode({ Node: Buffer.from('x'), SeqNo: 1 })]));
    const p = decodePing(body(buf));
    assert.equal(p.sourcePort, 0);
    assert.equal(p.sourceNode, '');
    assert.equal(p.sourceAddr?.length ?? 0, 0);
  });

  it('encodes an ack with a nil payload byte for byte', () => {
    assert.deepEqual(encodeAck({ seqNo: 7, payload: null }), hex(ACK_HEX));
    const a = decodeAck(body(hex(ACK_HEX)));
    assert.equal(a.seqNo, 7);
    assert.equal(a.payload, null);
  });

  it('round-trips an ack with a payload', () => {
    const payload = Buffer.from([1, 0xff, 0, 0x80]);
    const a = decodeAck(body(encodeAck({ seqNo: 0xffffffff, payload })));
    assert.equal(a.seqNo, 0xffffffff);
    assert.deepEqual(a.payload, payload);
  });

  it('encodes the push/pull header byte for byte', () => {
    const h = Buffer.concat([
      Buffer.from([MessageType.PushPull]),
      encodePushPullHeader({ join: true, nodes: 1, userStateLen: 0 }),
    ]);
    assert.deepEqual(h, hex(PUSH_PULL_HEADER_HEX));
    assert.deepEqual(decodePushPullHeader(body(h)), { join: true, nodes: 1, userStateLen: 0 });
  });

  it('builds the ping + serf join intent compound byte for byte', () => {
    const intent = hex(JOIN_INTENT_HEX);
    // The serf join intent built from its parts, as a cross-check of the literal.
    assert.deepEqual(intent, Buffer.concat([Buffer.from([8, 1]), encode({ LTime: 5, Node: Buffer.from('ts1') })]));
    const ping = encodePing(PING);
    const compound = makeCompound([ping, intent]);
    assert.deepEqual(compound, Buffer.concat([hex('07 02 00 41 00 13'), hex(PING_HEX), intent]));
    const { parts, truncated } = splitCompound(compound.subarray(1));
    assert.equal(truncated, 0);
    assert.deepEqual(parts, [ping, intent]);
    assert.deepEqual(decodePing(body(parts[0])), decodePing(body(hex(PING_HEX))));
  });

  it('makeCompound leaves out empty parts and refuses more than 255', () => {
    const c = makeCompound([Buffer.alloc(0), Buffer.from([8, 1])]);
    assert.deepEqual(c, hex('07 01 00 02 08 01'));
    assert.throws(() => makeCompound(new Array(256).fill(Buffer.from([8, 1]))), RangeError);
    assert.equal(makeCompound(new Array(255).fill(Buffer.from([8, 1])))[1], 255);
  });

  it('splitCompound keeps the parts before a truncated one', () => {
    const c = makeCompound([Buffer.from([8, 1]), Buffer.from([8, 2, 3])]);
    const cut = c.subarray(1, c.length - 1);
    const { parts, truncated } = splitCompound(cut);
    assert.deepEqual(parts, [Buffer.from([8, 1])]);
    assert.equal(truncated, 1);
    assert.throws(() => splitCompound(Buffer.alloc(0)), DecodeError);
    assert.throws(() => splitCompound(Buffer.from([3, 0, 1])), DecodeError);
  });

  it('round-trips suspect, dead, nack, indirect ping and compress bodies', () => {
    const s = decodeSuspectOrDead(body(encodeSuspect({ incarnation: 9, node: 'a', from: 'b' })));
    assert.deepEqual(s, { incarnation: 9, node: 'a', from: 'b' });
    const d = encodeDead({ incarnation: 3, node: 'n', from: 'n' });
    assert.equal(d[0], MessageType.Dead);
    assert.deepEqual(decodeSuspectOrDead(body(d)), { incarnation: 3, node: 'n', from: 'n' });
    // Sorted keys: From, Incarnation, Node.
    assert.deepEqual(d.subarray(1, 7), hex('83 a4 46 72 6f 6d'));
    assert.deepEqual(decodeNack(body(encodeNack({ seqNo: 300 }))), { seqNo: 300 });
    const ip = {
      seqNo: 5,
      target: Buffer.from([127, 0, 0, 1]),
      port: 1234,
      node: 'x',
      nack: true,
      sourceAddr: Buffer.from([1, 2, 3, 4]),
      sourcePort: 99,
      sourceNode: 'y',
    };
    assert.deepEqual(decodeIndirectPing(body(encodeIndirectPing(ip))), ip);
    // indirectPingReq keys in Go's sorted order.
    assert.deepEqual(Object.keys(decode(encodeIndirectPing(ip).subarray(1)) as object), [
      'Nack',
      'Node',
      'Port',
      'SeqNo',
      'SourceAddr',
      'SourceNode',
      'SourcePort',
      'Target',
    ]);
    const c = decodeCompressBody(parseBody(encodeCompressBody(Buffer.from('abc'))));
    assert.deepEqual(c, { algo: 0, buf: Buffer.from('abc') });
    assert.deepEqual(encodeCompressBody(Buffer.from('abc')), hex('82 a4 41 6c 67 6f 00 a3 42 75 66 a3 61 62 63'));
    const compressed = compressMessage(encodeAlive(ALIVE));
    assert.equal(compressed[0], MessageType.Compress);
    assert.deepEqual(decompressMessage(compressed.subarray(1)), hex(ALIVE_HEX));
  });

  it('round-trips a push/pull with node states and user state', () => {
    const states = [
      {
        name: 'a',
        addr: Buffer.from([10, 0, 0, 1]),
        port: 7946,
        meta: Buffer.from([0xff, 0x80]),
        incarnation: 3,
        state: NodeStateType.Alive,
        vsn: [1, 5, 2, 0, 0, 0],
      },
      {
        name: 'b',
        addr: Buffer.alloc(16),
        port: 1,
        meta: Buffer.alloc(0),
        incarnation: 1,
        state: NodeStateType.Left,
        vsn: [1, 5, 2, 2, 5, 5],
      },
    ];
    const user = Buffer.from([2, 0xc0, 0xff]);
    const pp = decodePushPull(encodePushPull(false, states, user));
    assert.deepEqual(pp.header, { join: false, nodes: 2, userStateLen: 3 });
    assert.deepEqual(pp.states, states);
    assert.deepEqual(pp.userState, user);
    // pushNodeState keys are sorted: Addr, Incarnation, Meta, Name, Port, State, Vsn; Vsn is a 6-byte raw string.
    const enc = encodePushNodeState(states[0]);
    assert.deepEqual(Object.keys(decode(enc) as object), [
      'Addr',
      'Incarnation',
      'Meta',
      'Name',
      'Port',
      'State',
      'Vsn',
    ]);
    assert.deepEqual(enc.subarray(enc.length - 7), hex('a6 01 05 02 00 00 00'));
    assert.throws(() => decodePushNodeState(parseBody(encode({ State: 4 }))), DecodeError);
    assert.throws(() => decodePushNodeState(parseBody(encode({ State: -1 }))), DecodeError);
  });

  it('rejects fields of the wrong type and out-of-range values', () => {
    // Port > 65535.
    assert.throws(() => decodeAlive(parseBody(encode({ Port: 70000 }))), DecodeError);
    // Incarnation beyond uint32.
    assert.throws(() => decodeAlive(parseBody(encode({ Incarnation: 0x100000000 }))), DecodeError);
    // Node as an int.
    assert.throws(() => decodePing(parseBody(encode({ Node: 5 }))), DecodeError);
    // SeqNo negative or a float.
    assert.throws(() => decodeAck(parseBody(encode({ SeqNo: -1 }))), DecodeError);
    assert.throws(() => decodeAck(parseBody(encode({ SeqNo: 1.5 }))), DecodeError);
    // Nack as a string.
    assert.throws(() => decodeIndirectPing(parseBody(encode({ Nack: Buffer.from('yes') }))), DecodeError);
    // Addr as a map.
    assert.throws(() => decodeAlive(parseBody(encode({ Addr: { x: 1 } }))), DecodeError);
    // A body that is not a map, a truncated body, a reserved type byte.
    assert.throws(() => parseBody(encode([1, 2])), DecodeError);
    assert.throws(() => parseBody(hex(ACK_HEX).subarray(1, 8)), DecodeError);
    assert.throws(() => parseBody(Buffer.from([0xc1])), DecodeError);
    assert.throws(() => parseBody(Buffer.alloc(0)), DecodeError);
  });

  it('decodes fields Go-style: nil is zero, bool from 0/1, bytes from int arrays, str8 and bin accepted, unknown keys skipped', () => {
    const p = decodePing(parseBody(hex('82 a4 4e 6f 64 65 c0 a5 53 65 71 4e 6f c0')));
    assert.equal(p.node, '');
    assert.equal(p.seqNo, 0);
    const ip = decodeIndirectPing(parseBody(encode({ Nack: 1, Target: [127, 0, 0, 1] })));
    assert.equal(ip.nack, true);
    assert.deepEqual(ip.target, Buffer.from([127, 0, 0, 1]));
    // Node as str8 (d9), Addr as bin8 (c4).
    const a = decodeAlive(
      parseBody(
        Buffer.concat([hex('82 a4 4e 6f 64 65 d9 03'), Buffer.from('abc'), hex('a4 41 64 64 72 c4 04 01 02 03 04')]),
      ),
    );
    assert.equal(a.node, 'abc');
    assert.deepEqual(a.addr, Buffer.from([1, 2, 3, 4]));
    assert.deepEqual(decodeNack(parseBody(encode({ Other: [1, { x: 2 }], SeqNo: 4 }))), { seqNo: 4 });
  });
});

describe('codec: msgpack', () => {
  const cases: Array<[Value, string]> = [
    [0, '00'],
    [127, '7f'],
    [128, 'cc 80'],
    [255, 'cc ff'],
    [256, 'cd 01 00'],
    [65535, 'cd ff ff'],
    [65536, 'ce 00 01 00 00'],
    [0xffffffff, 'ce ff ff ff ff'],
    [0x100000000, 'cf 00 00 00 01 00 00 00 00'],
    [Number.MAX_SAFE_INTEGER, 'cf 00 1f ff ff ff ff ff ff'],
    [-1, 'ff'],
    [-32, 'e0'],
    [-33, 'd0 df'],
    [-128, 'd0 80'],
    [-129, 'd1 ff 7f'],
    [-32768, 'd1 80 00'],
    [-32769, 'd2 ff ff 7f ff'],
    [-2147483648, 'd2 80 00 00 00'],
    [-2147483649, 'd3 ff ff ff ff 7f ff ff ff'],
    [Number.MIN_SAFE_INTEGER, 'd3 ff e0 00 00 00 00 00 01'],
    [null, 'c0'],
    [true, 'c3'],
    [false, 'c2'],
    [1.5, 'cb 3f f8 00 00 00 00 00 00'],
    [[], '90'],
    [{}, '80'],
  ];
  for (const [value, bytes] of cases) {
    it(`encodes and decodes ${typeof value === 'object' ? JSON.stringify(value) : String(value)} as ${bytes}`, () => {
      assert.deepEqual(encode(value), hex(bytes));
      assert.deepEqual(plain(decode(hex(bytes))), value);
    });
  }

  it('encodes uint64 beyond 2^53 from a bigint and decodes it back as a bigint', () => {
    const big = 0xffffffffffffffffn;
    assert.deepEqual(encode(big), hex('cf ff ff ff ff ff ff ff ff'));
    assert.equal(decode(encode(big)), big);
    const mid = (1n << 53n) + 1n;
    assert.equal(decode(encode(mid)), mid);
    // A small bigint takes the smallest form and decodes as a number.
    assert.deepEqual(encode(5n), hex('05'));
    assert.equal(decode(encode(5n)), 5);
    // int64 below -2^53 decodes as a bigint.
    assert.equal(decode(hex('d3 80 00 00 00 00 00 00 00')), -(1n << 63n));
    assert.throws(() => encode(-1n), MsgpackError);
  });

  it('decodes the non-minimal integer forms too', () => {
    assert.equal(decode(hex('cc 05')), 5);
    assert.equal(decode(hex('cf 00 00 00 00 00 00 00 05')), 5);
    assert.equal(decode(hex('d0 05')), 5);
    assert.equal(decode(hex('d1 ff ff')), -1);
    assert.equal(decode(hex('d2 ff ff ff fe')), -2);
    assert.equal(decode(hex('ca 3f c0 00 00')), 1.5);
  });

  it('uses fixstr below 32 bytes, str16 from 32, str32 from 65536, never str8 or bin', () => {
    for (const n of [0, 1, 31]) {
      const e = encode(Buffer.alloc(n, 0x41));
      assert.equal(e[0], 0xa0 | n);
      assert.equal(e.length, 1 + n);
    }
    for (const n of [32, 33, 255, 256, 65535]) {
      const e = encode(Buffer.alloc(n, 0x41));
      assert.equal(e[0], 0xda, `length ${n}`);
      assert.equal(e.readUInt16BE(1), n);
      assert.deepEqual(decode(e), Buffer.alloc(n, 0x41));
    }
    const e = encode(Buffer.alloc(65536, 1));
    assert.equal(e[0], 0xdb);
    assert.equal(e.readUInt32BE(1), 65536);
    assert.deepEqual(decode(e), Buffer.alloc(65536, 1));
    // Strings are their UTF-8 bytes.
    assert.deepEqual(encode('héllo'), Buffer.concat([Buffer.from([0xa6]), Buffer.from('héllo')]));
    const s40 = 'x'.repeat(40);
    assert.deepEqual(encode(s40), Buffer.concat([hex('da 00 28'), Buffer.from(s40)]));
    for (let n = 0; n < 300; n += 7) {
      const b = encode(Buffer.alloc(n, 0xff));
      assert.ok(![0xd9, 0xc4, 0xc5, 0xc6].includes(b[0]));
    }
  });

  it('decodes str values as raw bytes (not UTF-8 text), and str8/bin too', () => {
    const raw = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    assert.deepEqual(decode(encode(raw)), raw);
    assert.deepEqual(decode(hex('d9 02 ff 00')), Buffer.from([0xff, 0x00]));
    assert.deepEqual(decode(hex('c4 02 ff 00')), Buffer.from([0xff, 0x00]));
    assert.deepEqual(decode(hex('c5 00 01 07')), Buffer.from([7]));
    assert.deepEqual(decode(hex('c6 00 00 00 01 07')), Buffer.from([7]));
  });

  it('array16/array32 and map16/map32 headers', () => {
    const arr = new Array<Value>(16).fill(1);
    const e = encode(arr);
    assert.deepEqual(e.subarray(0, 3), hex('dc 00 10'));
    assert.deepEqual(decode(e), arr);
    const arr2 = new Array<Value>(70000).fill(0);
    const e2 = encode(arr2);
    assert.deepEqual(e2.subarray(0, 5), hex('dd 00 01 11 70'));
    assert.equal((decode(e2) as Value[]).length, 70000);
    const obj: { [k: string]: Value } = {};
    for (let i = 0; i < 16; i++) obj[`k${String(i).padStart(2, '0')}`] = i;
    const m = encode(obj);
    assert.deepEqual(m.subarray(0, 3), hex('de 00 10'));
    assert.deepEqual(plain(decode(m)), obj);
    assert.deepEqual(plain(decode(hex('df 00 00 00 01 a1 61 01'))), { a: 1 });
  });

  it('round-trips nested arrays and maps', () => {
    const v: Value = {
      list: [1, [2, [3, null]], { inner: Buffer.from('x'), flag: true }],
      n: -5,
      big: 0xffffffffffffffffn,
      empty: [],
    };
    assert.deepEqual(plain(decode(encode(v))), v);
  });

  it('writes struct keys in byte-sorted order and leaves out undefined fields', () => {
    const e = encode({ b: 1, B: 2, a: 3, Zz: 4, skip: undefined });
    // Byte order: "B" (0x42) < "Zz" < "a" < "b".
    assert.deepEqual(e, hex('84 a1 42 02 a2 5a 7a 04 a1 61 03 a1 62 01'));
    // A Map keeps insertion order (Go's map order is random anyway).
    assert.deepEqual(
      encode(
        new Map<string, Value>([
          ['b', 1],
          ['a', 2],
        ]),
      ),
      hex('82 a1 62 01 a1 61 02'),
    );
  });

  it('Reader reports how many bytes each object used', () => {
    const buf = Buffer.concat([encode({ A: 1 }), encode([1, 2]), hex('c0')]);
    const r = new Reader(buf);
    r.read();
    assert.equal(r.offset, 4);
    r.read();
    assert.equal(r.offset, 7);
    assert.equal(r.read(), null);
    assert.equal(r.remaining, 0);
    assert.throws(() => r.read(), NeedMoreData);
  });

  it('throws NeedMoreData for every proper prefix of a value', () => {
    const full = encode({
      Addr: Buffer.from([1, 2, 3, 4]),
      List: [1, 300, 70000, 0x100000000, -200, -40000, -3000000000, 1.25, null, true],
      Long: Buffer.alloc(40, 7),
    });
    for (let i = 0; i < full.length; i++) {
      assert.throws(() => decode(full.subarray(0, i)), NeedMoreData, `prefix of ${i} bytes`);
    }
    assert.ok(decode(full));
    for (const b of [
      'cc',
      'cd 00',
      'ce 00 00 00',
      'cf 00',
      'd0',
      'd1 00',
      'd2',
      'd3 00 00',
      'ca 00',
      'cb 00',
      'da 00',
      'da 00 05 61',
      'db 00 00 00 02 61',
      'd9',
      'c4 02',
      'dc 00 01',
      'de 00 01 a1 61',
      '91',
      '81 a1 61',
    ]) {
      assert.throws(() => decode(hex(b)), NeedMoreData, b);
    }
  });

  it('throws MsgpackError (not NeedMoreData) for bad types and hostile lengths', () => {
    const hard = (err: unknown) => err instanceof MsgpackError && !(err instanceof NeedMoreData);
    for (const b of [
      'c1',
      'c7 01 00 00',
      'c8 00 01 00 00',
      'c9 00 00 00 01 00 00',
      'd4 00 00',
      'd5 00 00 00',
      'd6 00 00 00 00 00',
      'd7',
      'd8',
    ]) {
      assert.throws(() => decode(hex(b)), hard, b);
    }
    // A map whose key is not a string.
    assert.throws(() => decode(hex('81 01 02')), hard);
    // A 4-billion-entry container is refused without allocating.
    assert.throws(() => decode(hex('dd ff ff ff ff')), hard);
    assert.throws(() => decode(hex('df ff ff ff ff')), hard);
    // Nesting beyond the limit.
    assert.throws(() => decode(Buffer.alloc(100, 0x91)), hard);
    // readStruct wants a map.
    assert.throws(() => readStruct(new Reader(hex('01'))), DecodeError);
  });

  it('refuses to encode values nested too deeply', () => {
    let v: Value = 1;
    for (let i = 0; i < 40; i++) v = [v];
    assert.throws(() => encode(v), MsgpackError);
  });
});

describe('codec: CRC32', () => {
  it('IEEE CRC-32 of "123456789" is 0xCBF43926', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('CRC-32 of empty input is 0, of "a" 0xE8B7BE43, of the quick brown fox 0x414FA339', () => {
    assert.equal(crc32(Buffer.alloc(0)), 0);
    assert.equal(crc32(Buffer.from('a')), 0xe8b7be43);
    assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  });
});
