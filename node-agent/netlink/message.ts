import { NLMSG_HDRLEN, NLMSGERR_ATTR_MSG, NLM_F_ACK_TLVS, NLM_F_CAPPED } from './constants';
import { attrString, parseAttributes } from './attributes';
import { NetlinkDecodeError } from './errors';

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  // The family struct and attributes, without the 16-byte header.
  payload: Buffer;
}

// Splits a datagram (or several concatenated) into messages. A header that lies about its length
// ends the walk with an error rather than reading out of bounds.
export function splitMessages(buf: Buffer, onMessage: (message: NetlinkMessage) => void): void {
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= buf.length) {
    const length = buf.readUInt32LE(offset);
    if (length < NLMSG_HDRLEN || offset + length > buf.length) {
      throw new NetlinkDecodeError(
        `netlink message at offset ${offset} claims ${length} bytes; ${buf.length - offset} remain`,
      );
    }
    onMessage({
      type: buf.readUInt16LE(offset + 4),
      flags: buf.readUInt16LE(offset + 6),
      seq: buf.readUInt32LE(offset + 8),
      portId: buf.readUInt32LE(offset + 12),
      payload: buf.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += (length + 3) & ~3;
  }
}

export interface ErrorReply {
  // 0 for an acknowledgement, else the positive errno.
  errno: number;
  kernelMessage?: string;
}

// NLMSG_ERROR and NLMSG_DONE payloads: an int error, then (for errors) the echoed request header and,
// with extended acks, attributes carrying the kernel's explanation.
export function parseErrorReply(message: NetlinkMessage): ErrorReply {
  const { payload, flags } = message;
  if (payload.length < 4) return { errno: 0 };
  const errno = -payload.readInt32LE(0);
  if (errno === 0 || !(flags & NLM_F_ACK_TLVS)) return { errno };
  let attrsAt = 4 + NLMSG_HDRLEN;
  if (!(flags & NLM_F_CAPPED) && payload.length >= 4 + NLMSG_HDRLEN) attrsAt = 4 + payload.readUInt32LE(4);
  if (attrsAt > payload.length) return { errno };
  try {
    const attrs = parseAttributes(payload, attrsAt);
    return { errno, kernelMessage: attrString(attrs[NLMSGERR_ATTR_MSG]) };
  } catch {
    return { errno };
  }
}
