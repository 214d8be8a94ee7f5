import { NeedMoreData, Reader } from './msgpack';
import {
  DecodeError,
  MessageType,
  PushNodeState,
  PushPullHeader,
  decodePushNodeState,
  decodePushPullHeader,
  decodeUserMsgHeader,
  encodePushNodeState,
  encodePushPullHeader,
  encodeUserMsgHeader,
  readStruct,
} from './messages';
import { compressMessage, decompressMessage, PacketSecurity } from './packet';
import { decrypt, encrypt, encryptedLength } from './security';

// TCP framing: one request and at most one reply per connection, no length prefix on plaintext
// (the reader must know where each msgpack object ends), [0x0A][len] for encrypted streams.

// memberlist 0.6's limits, so a hostile stream cannot make us allocate without bound.
export const MAX_PUSH_STATE_BYTES = 20 * 1024 * 1024;
export const MAX_PUSH_NODES = 1_048_576;
export const MAX_USER_MSG_BYTES = 20 * 1024 * 1024;

export function sealStream(plain: Buffer, options: { compress: boolean; security: PacketSecurity }): Buffer {
  const buf = options.compress ? compressMessage(plain) : plain;
  const { keyring, encryptionVersion } = options.security;
  if (!keyring) return buf;
  const header = Buffer.alloc(5);
  header[0] = MessageType.Encrypt;
  header.writeUInt32BE(encryptedLength(encryptionVersion, buf.length), 1);
  return Buffer.concat([header, encrypt(encryptionVersion, keyring.primary, buf, header)]);
}

// How far a plaintext push/pull has been parsed: its header, then its node states one by one.
// Kept between chunks so a large push/pull is parsed once, not once per chunk.
export interface PushPullProgress {
  offset: number;
  header?: PushPullHeader;
  statesRead: number;
}

// How long the plaintext message at the start of buf is; undefined until all of it has arrived.
function plainLength(buf: Buffer, progress: PushPullProgress = { offset: 1, statesRead: 0 }): number | undefined {
  try {
    switch (buf[0] as MessageType) {
      case MessageType.PushPull: {
        const reader = new Reader(buf, progress.offset);
        if (!progress.header) {
          const header = decodePushPullHeader(readStruct(reader));
          checkPushPullHeader(header);
          progress.header = header;
          progress.offset = reader.offset;
        }
        while (progress.statesRead < progress.header.nodes) {
          readStruct(reader);
          progress.statesRead++;
          progress.offset = reader.offset;
        }
        const end = progress.offset + progress.header.userStateLen;
        return end <= buf.length ? end : undefined;
      }
      case MessageType.User: {
        const reader = new Reader(buf, 1);
        const length = decodeUserMsgHeader(readStruct(reader));
        if (length < 0 || length > MAX_USER_MSG_BYTES)
          throw new DecodeError(`user message length ${length} out of range`);
        return reader.offset + length <= buf.length ? reader.offset + length : undefined;
      }
      case MessageType.Ping:
      case MessageType.Ack:
      case MessageType.Err: {
        const reader = new Reader(buf, 1);
        readStruct(reader);
        return reader.offset;
      }
      default:
        throw new DecodeError(`stream message type ${buf[0]} is not supported`);
    }
  } catch (err) {
    if (err instanceof NeedMoreData) return undefined;
    throw err;
  }
}

function checkPushPullHeader(h: PushPullHeader): void {
  if (h.nodes < 0 || h.nodes > MAX_PUSH_NODES) throw new DecodeError(`push/pull announces ${h.nodes} nodes`);
  if (h.userStateLen < 0 || h.userStateLen > MAX_PUSH_STATE_BYTES)
    throw new DecodeError(`push/pull announces ${h.userStateLen} bytes of user state`);
}

// The first message of a stream, once it has fully arrived: undefined means "read more".
// Throws DecodeError (or DecryptError) for a stream that can never become valid.
export function readStreamMessage(
  buf: Buffer,
  security: PacketSecurity,
  progress?: PushPullProgress,
): { message: Buffer; consumed: number } | undefined {
  if (buf.length === 0) return undefined;
  if ((buf[0] as MessageType) === MessageType.Encrypt) {
    if (!security.keyring) throw new DecodeError('received an encrypted stream but no keyring is configured');
    if (buf.length < 5) return undefined;
    const length = buf.readUInt32BE(1);
    if (length > MAX_PUSH_STATE_BYTES) throw new DecodeError(`encrypted stream of ${length} bytes exceeds the limit`);
    if (buf.length < 5 + length) return undefined;
    const plain = decrypt(security.keyring, buf.subarray(5, 5 + length), buf.subarray(0, 5));
    return { message: unwrapCompression(plain), consumed: 5 + length };
  }
  if (security.keyring && security.verifyIncoming)
    throw new DecodeError('stream is not encrypted, but encryption is required');
  if ((buf[0] as MessageType) === MessageType.Compress) {
    const reader = new Reader(buf, 1);
    try {
      readStruct(reader);
    } catch (err) {
      if (err instanceof NeedMoreData) return undefined;
      throw err;
    }
    return { message: unwrapCompression(buf.subarray(0, reader.offset)), consumed: reader.offset };
  }
  const length = plainLength(buf, progress);
  return length === undefined ? undefined : { message: buf.subarray(0, length), consumed: length };
}

// The most a stream may buffer before its message is complete: 20 MiB of user state plus the
// node states of a cluster of a few hundred thousand nodes.
export const MAX_STREAM_BYTES = 64 * 1024 * 1024;

// Collects a stream's chunks until its one message is complete. The buffer grows geometrically
// and a plaintext push/pull is parsed incrementally, so a big state sync costs linear time.
export class StreamMessageReader {
  private buf = Buffer.alloc(0);
  private length = 0;
  private readonly progress: PushPullProgress = { offset: 1, statesRead: 0 };

  constructor(private readonly security: PacketSecurity) {}

  // The message once it is complete, else undefined. Throws DecodeError (or DecryptError) for a
  // stream that can never become valid.
  push(chunk: Buffer): Buffer | undefined {
    if (this.length + chunk.length > MAX_STREAM_BYTES)
      throw new DecodeError(`stream message exceeds ${MAX_STREAM_BYTES} bytes`);
    if (this.length + chunk.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(4096, this.buf.length * 2, this.length + chunk.length));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.length);
    this.length += chunk.length;
    return readStreamMessage(this.buf.subarray(0, this.length), this.security, this.progress)?.message;
  }
}

function unwrapCompression(buf: Buffer): Buffer {
  if (buf.length === 0) throw new DecodeError('empty stream message');
  if ((buf[0] as MessageType) !== MessageType.Compress) return buf;
  const inner = decompressMessage(buf.subarray(1));
  if (plainLength(inner) === undefined) throw new DecodeError('compressed stream message is incomplete');
  return inner;
}

export interface PushPull {
  header: PushPullHeader;
  states: PushNodeState[];
  userState: Buffer;
}

export function encodePushPull(join: boolean, states: PushNodeState[], userState: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([MessageType.PushPull]),
    encodePushPullHeader({ join, nodes: states.length, userStateLen: userState.length }),
    ...states.map(encodePushNodeState),
    userState,
  ]);
}

export function decodePushPull(message: Buffer): PushPull {
  const reader = new Reader(message, 1);
  try {
    const header = decodePushPullHeader(readStruct(reader));
    checkPushPullHeader(header);
    const states: PushNodeState[] = [];
    for (let i = 0; i < header.nodes; i++) states.push(decodePushNodeState(readStruct(reader)));
    if (reader.remaining < header.userStateLen) throw new DecodeError('push/pull user state cut short');
    return {
      header,
      states,
      userState: Buffer.from(message.subarray(reader.offset, reader.offset + header.userStateLen)),
    };
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`push/pull: ${(err as Error).message}`);
  }
}

export function encodeUserStream(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([MessageType.User]), encodeUserMsgHeader(payload.length), payload]);
}

export function decodeUserStream(message: Buffer): Buffer {
  const reader = new Reader(message, 1);
  const length = decodeUserMsgHeader(readStruct(reader));
  return Buffer.from(message.subarray(reader.offset, reader.offset + length));
}
