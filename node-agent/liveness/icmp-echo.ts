// ICMP and ICMPv6 echo messages as the VTEP prober sends them and expects them back: type, code,
// checksum, identifier, sequence, then a cookie only this prober knows (the peer's kernel echoes it).

export type IpVersion = 4 | 6;

export interface Echo {
  identifier: number;
  sequence: number;
  cookie: Buffer;
}

export const COOKIE_LENGTH = 8;
const ECHO_LENGTH = 8 + COOKIE_LENGTH;
const IPV4_MIN_HEADER = 20;
const TYPES = { 4: { request: 8, reply: 0 }, 6: { request: 128, reply: 129 } } as const;

// RFC 1071: the one's complement of the one's complement sum of 16-bit words; 0 over a message
// whose checksum field is right.
export function internetChecksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += data.readUInt16BE(i);
  if (data.length % 2 === 1) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function encodeEchoRequest(version: IpVersion, echo: Echo): Buffer {
  const message = Buffer.alloc(ECHO_LENGTH);
  message[0] = TYPES[version].request;
  message.writeUInt16BE(echo.identifier, 4);
  message.writeUInt16BE(echo.sequence, 6);
  echo.cookie.copy(message, 8, 0, COOKIE_LENGTH);
  // ICMPv6's checksum covers a pseudo-header with the source address: the kernel fills it in.
  if (version === 4) message.writeUInt16BE(internetChecksum(message), 2);
  return message;
}

// A raw IPv4 socket receives the IP header too; the lengths it claims must be the ones received.
function ipv4Payload(datagram: Buffer): Buffer | undefined {
  if (datagram.length < IPV4_MIN_HEADER || datagram[0] >> 4 !== 4) return undefined;
  const headerLength = (datagram[0] & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER || datagram.readUInt16BE(2) !== datagram.length) return undefined;
  const message = datagram.subarray(headerLength);
  return message.length === ECHO_LENGTH && internetChecksum(message) === 0 ? message : undefined;
}

// The echo reply in a datagram from the socket, or undefined if it is not one shaped like ours (short,
// too long, a bad checksum, another type). ICMPv6 checksums are checked by the kernel before delivery.
export function decodeEchoReply(version: IpVersion, datagram: Buffer): Echo | undefined {
  const message = version === 4 ? ipv4Payload(datagram) : datagram;
  if (message?.length !== ECHO_LENGTH || message[0] !== TYPES[version].reply || message[1] !== 0) return undefined;
  return {
    identifier: message.readUInt16BE(4),
    sequence: message.readUInt16BE(6),
    cookie: message.subarray(8),
  };
}
