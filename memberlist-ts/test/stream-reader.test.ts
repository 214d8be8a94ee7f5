import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../src/keyring';
import { MessageType, NodeStateType, PushNodeState, encodePushPullHeader } from '../src/messages';
import type { PacketSecurity } from '../src/packet';
import { MAX_STREAM_BYTES, StreamMessageReader, decodePushPull, encodePushPull, sealStream } from '../src/stream';

const plain: PacketSecurity = { keyring: undefined, encryptionVersion: 1, verifyIncoming: true };

function states(n: number): PushNodeState[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `host-${i}`,
    addr: Buffer.from([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff]),
    port: 7946,
    meta: Buffer.from([0xff, 0x80]),
    incarnation: i + 1,
    state: NodeStateType.Alive,
    vsn: [1, 5, 2, 2, 5, 5],
  }));
}

// Feeds the stream in chunks; returns the message and how many chunks it took.
function feed(
  reader: StreamMessageReader,
  data: Buffer,
  chunk: number,
): { message: Buffer | undefined; chunks: number } {
  let chunks = 0;
  for (let offset = 0; offset < data.length; offset += chunk) {
    chunks++;
    const message = reader.push(data.subarray(offset, offset + chunk));
    if (message) return { message, chunks };
  }
  return { message: undefined, chunks };
}

describe('stream reader: a message arriving in many chunks', () => {
  it('assembles a large plaintext push/pull only once its last byte arrives, in linear time', () => {
    const userState = randomBytes(2 * 1024 * 1024);
    const message = encodePushPull(true, states(20_000), userState);
    const started = Date.now();
    const { message: read, chunks } = feed(new StreamMessageReader(plain), message, 1024);
    const elapsed = Date.now() - started;
    assert.ok(read);
    assert.equal(chunks, Math.ceil(message.length / 1024));
    assert.ok(read.equals(message));
    const decoded = decodePushPull(read);
    assert.equal(decoded.states.length, 20_000);
    assert.equal(decoded.states[19_999].name, 'host-19999');
    assert.ok(decoded.userState.equals(userState));
    // Re-parsing everything per chunk would take minutes at this size.
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  });

  it('assembles compressed and encrypted push/pulls the same way', () => {
    const message = encodePushPull(false, states(500), Buffer.from('user state'));
    const keyring = new Keyring([Buffer.alloc(16, 7)]);
    const secure: PacketSecurity = { keyring, encryptionVersion: 1, verifyIncoming: true };
    for (const [security, compress] of [
      [plain, true],
      [secure, false],
      [secure, true],
    ] as const) {
      const sealed = sealStream(message, { compress, security });
      const { message: read } = feed(new StreamMessageReader(security), sealed, 100);
      assert.ok(read && read.equals(message), `compress ${compress}, keyring ${security.keyring !== undefined}`);
    }
  });

  it('refuses a stream that grows past the limit before completing', () => {
    // One node state whose Meta announces 100 MB: the reader would wait for it forever.
    const reader = new StreamMessageReader(plain);
    const hugeMeta = Buffer.from([0x81, 0xa4, ...Buffer.from('Meta'), 0xdb, 0, 0, 0, 0]);
    hugeMeta.writeUInt32BE(100 * 1024 * 1024, hugeMeta.length - 4);
    const start = Buffer.concat([
      Buffer.from([MessageType.PushPull]),
      encodePushPullHeader({ join: false, nodes: 1, userStateLen: 0 }),
      hugeMeta,
    ]);
    assert.equal(reader.push(start), undefined);
    const filler = Buffer.alloc(1024 * 1024);
    assert.throws(() => {
      for (let sent = 0; sent <= MAX_STREAM_BYTES; sent += filler.length) assert.equal(reader.push(filler), undefined);
    }, /exceeds/);
  });
});
