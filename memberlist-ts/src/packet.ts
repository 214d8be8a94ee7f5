import { crc32 } from './crc32';
import { Keyring } from './keyring';
import { lzwCompress, lzwDecompress } from './lzw';
import { DecodeError, MessageType, decodeCompressBody, encodeCompressBody, parseBody } from './messages';
import { decrypt, encrypt } from './security';

// UDP packet layering, inside out: message (or compound) -> compression (if it helps) -> CRC ->
// encryption. Receiving peels the same layers off.

export const MAX_COMPOUND_PARTS = 255;
// memberlist 0.6's bound on decompressed data.
export const MAX_DECOMPRESSED = 40 * 1024 * 1024;

// [7][n][len_1 u16]...[len_n u16][msg_1]...[msg_n]. Empty parts are never sent: memberlist 0.2.2
// crashes on them.
export function makeCompound(messages: Buffer[]): Buffer {
  const parts = messages.filter((m) => m.length > 0);
  if (parts.length > MAX_COMPOUND_PARTS)
    throw new RangeError(`a compound holds at most ${MAX_COMPOUND_PARTS} messages`);
  const header = Buffer.alloc(2 + 2 * parts.length);
  header[0] = MessageType.Compound;
  header[1] = parts.length;
  parts.forEach((p, i) => header.writeUInt16BE(p.length, 2 + 2 * i));
  return Buffer.concat([header, ...parts]);
}

// The body after the type byte. Parts past a length that overruns the buffer are dropped, and the
// ones before it kept, as memberlist does.
export function splitCompound(body: Buffer): { parts: Buffer[]; truncated: number } {
  if (body.length < 1) throw new DecodeError('compound message without a part count');
  const n = body[0];
  if (body.length < 1 + 2 * n)
    throw new DecodeError(`compound message announces ${n} parts but its header is cut short`);
  const parts: Buffer[] = [];
  let offset = 1 + 2 * n;
  for (let i = 0; i < n; i++) {
    const len = body.readUInt16BE(1 + 2 * i);
    if (offset + len > body.length) return { parts, truncated: n - i };
    parts.push(body.subarray(offset, offset + len));
    offset += len;
  }
  return { parts, truncated: 0 };
}

export function compressMessage(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from([MessageType.Compress]), encodeCompressBody(lzwCompress(message))]);
}

// The body after the 0x09 type byte; the result starts with the real type byte.
export function decompressMessage(body: Buffer): Buffer {
  const c = decodeCompressBody(parseBody(body));
  if (c.algo !== 0) throw new DecodeError(`unknown compression algorithm ${c.algo}`);
  const out = lzwDecompress(c.buf, MAX_DECOMPRESSED);
  if (out.length === 0) throw new DecodeError('compressed message expands to nothing');
  return out;
}

export interface PacketSecurity {
  keyring: Keyring | undefined;
  // 0 for protocol version 1 peers, else 1.
  encryptionVersion: 0 | 1;
  // Drop packets that do not decrypt (memberlist's GossipVerifyIncoming).
  verifyIncoming: boolean;
}

export function sealPacket(
  message: Buffer,
  options: { compress: boolean; crc: boolean; security: PacketSecurity },
): Buffer {
  let buf = message;
  if (options.compress) {
    const compressed = compressMessage(buf);
    if (compressed.length < buf.length) buf = compressed;
  }
  if (options.crc) {
    const header = Buffer.alloc(5);
    header[0] = MessageType.HasCrc;
    header.writeUInt32BE(crc32(buf), 1);
    buf = Buffer.concat([header, buf]);
  }
  const { keyring, encryptionVersion } = options.security;
  if (keyring) buf = encrypt(encryptionVersion, keyring.primary, buf);
  return buf;
}

// Decrypts and checks the CRC; the result starts with a message type byte.
export function openPacket(packet: Buffer, security: PacketSecurity): Buffer {
  let buf = packet;
  if (security.keyring) {
    try {
      buf = decrypt(security.keyring, packet);
    } catch (err) {
      if (security.verifyIncoming) throw err;
    }
  }
  if (buf.length >= 5 && (buf[0] as MessageType) === MessageType.HasCrc) {
    const expected = buf.readUInt32BE(1);
    buf = buf.subarray(5);
    if (crc32(buf) !== expected) throw new DecodeError('CRC mismatch');
  }
  if (buf.length === 0) throw new DecodeError('empty packet');
  return buf;
}
