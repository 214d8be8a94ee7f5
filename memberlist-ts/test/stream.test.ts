import { strict as assert } from 'node:assert';
import { Keyring } from '../src/keyring';
import { DecodeError, MessageType, PushNodeState, encodeAck, encodeErr, encodePing } from '../src/messages';
import { encode } from '../src/msgpack';
import { PacketSecurity, compressMessage } from '../src/packet';
import { DecryptError, encrypt } from '../src/security';
import {
  MAX_PUSH_NODES,
  MAX_PUSH_STATE_BYTES,
  MAX_USER_MSG_BYTES,
  decodePushPull,
  decodeUserStream,
  encodePushPull,
  encodeUserStream,
  readStreamMessage,
  sealStream,
} from '../src/stream';

const key = Buffer.alloc(32, 0x5a);
const plainSec: PacketSecurity = { keyring: undefined, encryptionVersion: 1, verifyIncoming: true };
const encSec = (version: 0 | 1 = 1): PacketSecurity => ({
  keyring: new Keyring([key]),
  encryptionVersion: version,
  verifyIncoming: true,
});

function states(n: number): PushNodeState[] {
  const out: PushNodeState[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      name: `node-${i}-${'x'.repeat(i % 40)}`,
      addr: Buffer.from([10, 0, i >> 8, i & 0xff]),
      port: 7946 + i,
      meta: Buffer.from([0xff, 0x80, i & 0xff]),
      incarnation: i * 1000,
      state: i % 4,
      vsn: [1, 5, 2, 2, 5, 5],
    });
  }
  return out;
}

const PUSH_PULL = encodePushPull(true, states(12), Buffer.concat([Buffer.from([2]), Buffer.alloc(300, 0xc0)]));

// A push/pull header followed by nothing: what a hostile peer sends first.
const header = (fields: Record<string, number | boolean | bigint>) =>
  Buffer.concat([Buffer.from([MessageType.PushPull]), encode(fields)]);

function assertEveryPrefixIncomplete(stream: Buffer, security: PacketSecurity, expected: Buffer): void {
  for (let i = 0; i < stream.length; i++) {
    assert.equal(
      readStreamMessage(stream.subarray(0, i), security),
      undefined,
      `prefix of ${i}/${stream.length} bytes`,
    );
  }
  const full = readStreamMessage(stream, security);
  assert.ok(full, 'the whole stream gives a message');
  assert.deepEqual(full.message, expected);
  assert.equal(full.consumed, stream.length);
  // Bytes after the message are not consumed.
  const more = readStreamMessage(Buffer.concat([stream, Buffer.from([1, 2, 3])]), security);
  assert.ok(more);
  assert.deepEqual(more.message, expected);
  assert.equal(more.consumed, stream.length);
}

describe('stream: readStreamMessage framing', () => {
  it('plain push/pull: undefined for every proper prefix, the message once complete', () => {
    const sealed = sealStream(PUSH_PULL, { compress: false, security: plainSec });
    assert.deepEqual(sealed, PUSH_PULL);
    assertEveryPrefixIncomplete(sealed, plainSec, PUSH_PULL);
  });

  it('plain push/pull with no nodes and no user state', () => {
    const pp = encodePushPull(false, [], Buffer.alloc(0));
    assertEveryPrefixIncomplete(pp, plainSec, pp);
    const d = decodePushPull(pp);
    assert.deepEqual(d.header, { join: false, nodes: 0, userStateLen: 0 });
  });

  it('compressed push/pull', () => {
    const sealed = sealStream(PUSH_PULL, { compress: true, security: plainSec });
    assert.equal(sealed[0], MessageType.Compress);
    assertEveryPrefixIncomplete(sealed, plainSec, PUSH_PULL);
  });

  for (const version of [0, 1] as const) {
    it(`encrypted (v${version}) push/pull, plain and compressed`, () => {
      const sec = encSec(version);
      for (const compress of [false, true]) {
        const sealed = sealStream(PUSH_PULL, { compress, security: sec });
        assert.equal(sealed[0], MessageType.Encrypt);
        assert.equal(sealed.readUInt32BE(1), sealed.length - 5);
        assert.equal(sealed[5], version);
        assertEveryPrefixIncomplete(sealed, sec, PUSH_PULL);
      }
    });
  }

  it('encrypted streams authenticate the 5-byte header as AAD', () => {
    const sec = encSec();
    const sealed = sealStream(PUSH_PULL, { compress: false, security: sec });
    // Re-encrypting the same plaintext without AAD, with the same framing, must not be accepted.
    const noAad = encrypt(1, key, PUSH_PULL);
    const forged = Buffer.concat([sealed.subarray(0, 5), noAad]);
    assert.throws(() => readStreamMessage(forged, sec), DecryptError);
  });

  it('a stream encrypted with another key is rejected', () => {
    const other: PacketSecurity = {
      keyring: new Keyring([Buffer.alloc(16, 1)]),
      encryptionVersion: 1,
      verifyIncoming: true,
    };
    const sealed = sealStream(PUSH_PULL, { compress: false, security: other });
    assert.throws(() => readStreamMessage(sealed, encSec()), DecryptError);
  });

  it('ping, ack, err and user streams', () => {
    const ping = encodePing({
      seqNo: 9,
      node: 'a',
      sourceAddr: Buffer.from([1, 2, 3, 4]),
      sourcePort: 5,
      sourceNode: 'b',
    });
    assertEveryPrefixIncomplete(ping, plainSec, ping);
    const ack = encodeAck({ seqNo: 9, payload: null });
    assertEveryPrefixIncomplete(ack, plainSec, ack);
    const err = encodeErr('something went wrong');
    assertEveryPrefixIncomplete(err, plainSec, err);
    const user = encodeUserStream(Buffer.alloc(1000, 0x77));
    assertEveryPrefixIncomplete(user, plainSec, user);
    assert.deepEqual(decodeUserStream(user), Buffer.alloc(1000, 0x77));
    const sealed = sealStream(user, { compress: true, security: encSec() });
    assertEveryPrefixIncomplete(sealed, encSec(), user);
  });
});

describe('stream: hostile headers', () => {
  it('rejects negative Nodes and UserStateLen from the header alone', () => {
    assert.throws(() => readStreamMessage(header({ Join: false, Nodes: -1, UserStateLen: 0 }), plainSec), DecodeError);
    assert.throws(
      () => readStreamMessage(header({ Join: false, Nodes: -2147483648, UserStateLen: 0 }), plainSec),
      DecodeError,
    );
    assert.throws(() => readStreamMessage(header({ Join: false, Nodes: 0, UserStateLen: -1 }), plainSec), DecodeError);
    assert.throws(
      () => readStreamMessage(header({ Join: false, Nodes: 0, UserStateLen: -5_000_000_000 }), plainSec),
      DecodeError,
    );
  });

  it('rejects huge Nodes and UserStateLen from the header alone', () => {
    assert.throws(
      () => readStreamMessage(header({ Join: false, Nodes: MAX_PUSH_NODES + 1, UserStateLen: 0 }), plainSec),
      DecodeError,
    );
    assert.throws(
      () => readStreamMessage(header({ Join: false, Nodes: 0xffffffff, UserStateLen: 0 }), plainSec),
      DecodeError,
    );
    assert.throws(
      () => readStreamMessage(header({ Join: false, Nodes: 0xffffffffffffffffn, UserStateLen: 0 }), plainSec),
      DecodeError,
    );
    assert.throws(
      () => readStreamMessage(header({ Join: false, Nodes: 0, UserStateLen: MAX_PUSH_STATE_BYTES + 1 }), plainSec),
      DecodeError,
    );
    assert.throws(
      () => readStreamMessage(header({ Join: false, Nodes: 0, UserStateLen: Number.MAX_SAFE_INTEGER }), plainSec),
      DecodeError,
    );
    // Floats are not integers.
    assert.throws(() => readStreamMessage(header({ Join: false, Nodes: 1.5, UserStateLen: 0 }), plainSec), DecodeError);
  });

  it('at the limits the header is accepted and the reader waits for more', () => {
    assert.equal(
      readStreamMessage(header({ Join: false, Nodes: MAX_PUSH_NODES, UserStateLen: 0 }), plainSec),
      undefined,
    );
    assert.equal(
      readStreamMessage(header({ Join: false, Nodes: 0, UserStateLen: MAX_PUSH_STATE_BYTES }), plainSec),
      undefined,
    );
  });

  it('decodePushPull rejects the same headers and a short user state', () => {
    assert.throws(() => decodePushPull(header({ Nodes: -1, UserStateLen: 0 })), DecodeError);
    assert.throws(() => decodePushPull(header({ Nodes: MAX_PUSH_NODES + 1, UserStateLen: 0 })), DecodeError);
    assert.throws(() => decodePushPull(header({ Nodes: 0, UserStateLen: 10 })), DecodeError);
    assert.throws(() => decodePushPull(header({ Nodes: 1, UserStateLen: 0 })), DecodeError);
    assert.throws(
      () => decodePushPull(Buffer.concat([header({ Nodes: 1, UserStateLen: 0 }), encode({ State: 9 })])),
      DecodeError,
    );
  });

  it('rejects negative and huge user message lengths', () => {
    const user = (n: number) => Buffer.concat([Buffer.from([MessageType.User]), encode({ UserMsgLen: n })]);
    assert.throws(() => readStreamMessage(user(-1), plainSec), DecodeError);
    assert.throws(() => readStreamMessage(user(MAX_USER_MSG_BYTES + 1), plainSec), DecodeError);
    assert.equal(readStreamMessage(user(10), plainSec), undefined);
  });

  it('rejects an encrypted stream longer than 20 MiB from its 5-byte header', () => {
    const h = Buffer.alloc(5);
    h[0] = MessageType.Encrypt;
    h.writeUInt32BE(MAX_PUSH_STATE_BYTES + 1, 1);
    assert.throws(() => readStreamMessage(h, encSec()), DecodeError);
    h.writeUInt32BE(0xffffffff, 1);
    assert.throws(() => readStreamMessage(h, encSec()), DecodeError);
    h.writeUInt32BE(MAX_PUSH_STATE_BYTES, 1);
    assert.equal(readStreamMessage(h, encSec()), undefined);
  });

  it('rejects an unencrypted stream when a keyring is set and verifyIncoming', () => {
    for (const compress of [false, true]) {
      const plain = sealStream(PUSH_PULL, { compress, security: plainSec });
      assert.throws(() => readStreamMessage(plain, encSec()), DecodeError);
      // Even a single byte is enough to know.
      assert.throws(() => readStreamMessage(plain.subarray(0, 1), encSec()), DecodeError);
      // Without verifyIncoming it is accepted.
      const lax: PacketSecurity = { ...encSec(), verifyIncoming: false };
      const read = readStreamMessage(plain, lax);
      assert.ok(read);
      assert.deepEqual(read.message, PUSH_PULL);
    }
  });

  it('rejects an encrypted stream when no keyring is configured', () => {
    const sealed = sealStream(PUSH_PULL, { compress: false, security: encSec() });
    assert.throws(() => readStreamMessage(sealed, plainSec), DecodeError);
  });

  it('rejects unsupported stream message types', () => {
    for (const t of [MessageType.Alive, MessageType.Suspect, MessageType.Compound, MessageType.HasCrc, 0x7f, 0xff]) {
      assert.throws(() => readStreamMessage(Buffer.from([t, 0x80]), plainSec), DecodeError, `type ${t}`);
    }
  });

  it('rejects a compressed stream that expands to an incomplete message or to nothing', () => {
    const cut = compressMessage(PUSH_PULL.subarray(0, PUSH_PULL.length - 1));
    assert.throws(() => readStreamMessage(cut, plainSec), DecodeError);
    const empty = compressMessage(Buffer.alloc(0));
    assert.throws(() => readStreamMessage(empty, plainSec), DecodeError);
    const garbage = Buffer.concat([
      Buffer.from([MessageType.Compress]),
      encode({ Algo: 0, Buf: Buffer.from([0xff, 0xff, 0xff]) }),
    ]);
    assert.throws(() => readStreamMessage(garbage, plainSec));
    const algo = Buffer.concat([Buffer.from([MessageType.Compress]), encode({ Algo: 1, Buf: Buffer.alloc(4) })]);
    assert.throws(() => readStreamMessage(algo, plainSec), DecodeError);
  });

  it('a compressed stream may wrap a compressed message only once', () => {
    const twice = compressMessage(compressMessage(PUSH_PULL));
    // The inner 0x09 is not a stream message type a responder handles.
    assert.throws(() => readStreamMessage(twice, plainSec), DecodeError);
  });
});
