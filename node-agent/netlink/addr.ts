import * as C from './constants';
import { bytesToIp, ipToBytes } from './address-bytes';
import { NetlinkDecodeError } from './errors';
import { MessageWriter } from './message-writer';
import { parseAttributes } from './attributes';
import { NetlinkSocket } from './socket';

// An interface address, e.g. 10.42.0.2/24 on an endpoint's veth.
export interface Address {
  ifindex: number;
  // address/prefix-length
  cidr: string;
  // Usable at once, without duplicate address detection (IPv6).
  nodad?: boolean;
  // No route to the prefix: everything but the address itself is reached through a gateway.
  noPrefixRoute?: boolean;
}

export function encodeAddress(type: number, flags: number, a: Address): Buffer {
  const [ip, len] = a.cidr.split('/');
  const bytes = ipToBytes(ip);
  const w = new MessageWriter(type, flags, 64);
  w.u8(bytes.length === 4 ? C.AF_INET : C.AF_INET6)
    .u8(Number(len ?? bytes.length * 8))
    .u8(0)
    .u8(0)
    .u32(a.ifindex);
  w.attr(C.IFA_LOCAL, bytes);
  w.attr(C.IFA_ADDRESS, bytes);
  const ifaFlags = (a.nodad ? C.IFA_F_NODAD : 0) | (a.noPrefixRoute ? C.IFA_F_NOPREFIXROUTE : 0);
  if (ifaFlags !== 0) w.attrU32(C.IFA_FLAGS, ifaFlags);
  return w.finish();
}

export function decodeAddress(payload: Buffer): Address {
  if (payload.length < 8)
    throw new NetlinkDecodeError(`address message of ${payload.length} bytes is shorter than ifaddrmsg`);
  const attrs = parseAttributes(payload, 8);
  const bytes = attrs[C.IFA_LOCAL] ?? attrs[C.IFA_ADDRESS];
  return { ifindex: payload.readUInt32LE(4), cidr: `${bytes ? bytesToIp(bytes) : ''}/${payload[1]}` };
}

export class AddressOps {
  constructor(private readonly socket: NetlinkSocket) {}

  async add(a: Address): Promise<void> {
    await this.socket.request(encodeAddress(C.RTM_NEWADDR, C.NLM_F_CREATE | C.NLM_F_EXCL, a), {
      operation: 'add',
      object: `address ${a.cidr} on link #${a.ifindex}`,
    });
  }

  async delete(a: Address): Promise<void> {
    await this.socket.request(encodeAddress(C.RTM_DELADDR, 0, a), {
      operation: 'delete',
      object: `address ${a.cidr} on link #${a.ifindex}`,
    });
  }

  async list(): Promise<Address[]> {
    const w = new MessageWriter(C.RTM_GETADDR, C.NLM_F_DUMP);
    w.u8(C.AF_UNSPEC).u8(0).u8(0).u8(0).u32(0);
    return this.socket.dump(w.finish(), { operation: 'dump', object: 'addresses' }, C.RTM_NEWADDR, decodeAddress);
  }
}
