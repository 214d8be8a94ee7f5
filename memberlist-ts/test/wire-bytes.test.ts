import { strict as assert } from 'node:assert';
import { crc32 } from '../src/crc32';
import { decodeAlive, encodeAck, encodeAlive, encodePing, encodePushPullHeader, MessageType, parseBody, decodePing } from '../src/messages';
import { MsgpackError, NeedMoreData, Reader, decode, encode } from '../src/msgpack';
import { makeCompound, openPacket, sealPacket, splitCompound } from '../src/packet';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const noSecurity = { keyring: undefined, encryptionVersion: 1 as const, verifyIncoming: true };

// The worked bytes of the wire description's appendix.
const ALIVE = hex('04 86 a4 41 64 64 72 a4 0a 00 00 05 ab 49 6e 63 61 72 6e 61 74 69 6f 6e 01 a4 4d 65 74 61 a2 ff 80 a4 4e 6f 64 65 a3 74 73 31 a4 50 6f 72 74 cd 1f 0a a3 56 73 6e a6 01 05 02 02 05 05');
const PING = hex('00 85 a4 4e 6f 64 65 a5 73 65 72 66 31 a5 53 65 71 4e 6f 07 aa 53 6f 75 72 63 65 41 64 64 72 a4 0a 00 00 05 aa 53 6f 75 72 63 65 4e 6f 64 65 a3 74 73 31 aa 53 6f 75 72 63 65 50 6f 72 74 cd 1f 0a');
const JOIN_INTENT = hex('08 01 82 a5 4c 54 69 6d 65 05 a4 4e 6f 64 65 a3 74 73 31');

describe('memberlist codecs against the worked bytes', () => {
  it('encodes alive, ping, ack and the push/pull header byte for byte', () => {
    const alive = { incarnation: 1, node: 'ts1', addr: Buffer.from([10, 0, 0, 5]), port: 7946, meta: Buffer.from([0xff, 0x80]), vsn: [1, 5, 2, 2, 5, 5] };
    assert.deepEqual(encodeAlive(alive), ALIVE);
    assert.deepEqual(decodeAlive(parseBody(ALIVE.subarray(1))), alive);
    const ping = encodePing({ seqNo: 7, node: 'serf1', sourceAddr: Buffer.from([10, 0, 0, 5]), sourcePort: 7946, sourceNode: 'ts1' });
    assert.deepEqual(ping, PING);
    assert.equal(decodePing(parseBody(PING.subarray(1))).sourceNode, 'ts1');
    assert.deepEqual(encodeAck({ seqNo: 7, payload: null }), hex('02 82 a7 50 61 79 6c 6f 61 64 c0 a5 53 65 71 4e 6f 07'));
    assert.deepEqual(
      Buffer.concat([Buffer.from([MessageType.PushPull]), encodePushPullHeader({ join: true, nodes: 1, userStateLen: 0 })]),
      hex('06 83 a4 4a 6f 69 6e c3 a5 4e 6f 64 65 73 01 ac 55 73 65 72 53 74 61 74 65 4c 65 6e 00'),
    );
  });

  it('frames CRC and compound packets as memberlist 0.2.2 does', () => {
    const withCrc = sealPacket(ALIVE, { compress: false, crc: true, security: noSecurity });
    assert.deepEqual(withCrc.subarray(0, 5), hex('0c 40 9f d3 1a'));
    assert.deepEqual(openPacket(withCrc, noSecurity), ALIVE);
    const corrupt = Buffer.from(withCrc);
    corrupt[10] ^= 1;
    assert.throws(() => openPacket(corrupt, noSecurity), /CRC mismatch/);
    const compound = makeCompound([PING, JOIN_INTENT]);
    assert.deepEqual(compound.subarray(0, 6), hex('07 02 00 41 00 13'));
    assert.deepEqual(splitCompound(compound.subarray(1)).parts, [PING, JOIN_INTENT]);
    // A length past the end drops that part and the ones after it, keeps the ones before.
    const cut = compound.subarray(0, compound.length - 3);
    assert.deepEqual(splitCompound(cut.subarray(1)), { parts: [PING], truncated: 1 });
    // Empty parts are never sent: memberlist 0.2.2 crashes on them.
    assert.equal(makeCompound([PING, Buffer.alloc(0)])[1], 1);
  });

  it('compresses only when it pays, and round-trips compressed packets', () => {
    const big = Buffer.concat([ALIVE, Buffer.alloc(300, 0x41)]);
    const packed = sealPacket(big, { compress: true, crc: false, security: noSecurity });
    assert.equal(packed[0], MessageType.Compress);
    assert.ok(packed.length < big.length);
    assert.deepEqual(sealPacket(PING.subarray(0, 3), { compress: true, crc: false, security: noSecurity }), PING.subarray(0, 3));
  });

  it('CRC-32 is IEEE', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });
});

describe('msgpack in the go-msgpack dialect', () => {
  it('round-trips integers of every width, strings, nil, arrays and sorted structs', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31)]) {
      assert.equal(decode(encode(n)), n, String(n));
    }
    assert.equal(decode(encode(2n ** 64n - 1n)), 2n ** 64n - 1n);
    const long = 'x'.repeat(40);
    const encoded = encode(long);
    assert.equal(encoded[0], 0xda, 'str16, never str8');
    assert.equal((decode(encoded) as Buffer).toString(), long);
    assert.deepEqual(encode({ b: 1, a: 2, B: 3 }).subarray(0, 3), Buffer.from([0x83, 0xa1, 0x42]), 'keys in byte order: B < a < b');
    assert.deepEqual(decode(encode([null, true, [1, 2]])), [null, true, [1, 2]]);
  });

  it('says "need more" for a truncated value and refuses unsupported types', () => {
    const full = encode({ Node: Buffer.from('abc'), SeqNo: 70000 });
    for (let n = 0; n < full.length; n++) assert.throws(() => new Reader(full.subarray(0, n)).read(), NeedMoreData, `prefix ${n}`);
    assert.throws(() => decode(Buffer.from([0xc1])), MsgpackError);
    assert.throws(() => decode(Buffer.from([0xd4, 0, 0])), MsgpackError);
  });
});
