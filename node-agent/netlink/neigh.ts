import * as C from './constants';
import { attrU8 } from './attributes';
import { bytesToIp, bytesToMac } from './address-bytes';
import { MessageWriter } from './message-writer';
import { NudState, WriteMode, nudBits, nudState, readNdmsg, writeFlags, writeNdmsg } from './neigh-message';
import { NetlinkSocket } from './socket';

// An IPv4 (ARP) or IPv6 (ND) neighbour entry.
export interface Neighbour {
  ifindex: number;
  ip: string;
  mac?: string;
  state?: NudState;
  externLearn?: boolean;
  router?: boolean;
  // A proxy entry (no MAC): the host answers ARP/ND for the address on this device (IPv6 needs one
  // per address; IPv4 proxy ARP follows the routes).
  proxy?: boolean;
  protocol?: number;
}

export function encodeNeighbour(type: number, flags: number, n: Neighbour): Buffer {
  return writeNeighbour(new MessageWriter(type, flags, 64), type, n).finish();
}

export function writeNeighbour(w: MessageWriter, type: number, n: Neighbour): MessageWriter {
  const v4 = !n.ip.includes(':');
  let ntf = 0;
  if (n.externLearn) ntf |= C.NTF_EXT_LEARNED;
  if (n.router) ntf |= C.NTF_ROUTER;
  if (n.proxy) ntf |= C.NTF_PROXY;
  const state = type === C.RTM_DELNEIGH ? 0 : nudBits(n.state ?? 'permanent');
  writeNdmsg(w, { family: v4 ? C.AF_INET : C.AF_INET6, ifindex: n.ifindex, state, flags: ntf, type: 0 });
  w.attrIp(C.NDA_DST, n.ip);
  if (n.mac !== undefined) w.attrMac(C.NDA_LLADDR, n.mac);
  if (n.protocol !== undefined) w.attrU8(C.NDA_PROTOCOL, n.protocol);
  return w;
}

export function decodeNeighbour(payload: Buffer): Neighbour {
  const { header, attrs } = readNdmsg(payload);
  const dst = attrs[C.NDA_DST];
  const lladdr = attrs[C.NDA_LLADDR];
  const n: Neighbour = {
    ifindex: header.ifindex,
    ip: dst ? bytesToIp(dst) : '',
    state: nudState(header.state),
    externLearn: (header.flags & C.NTF_EXT_LEARNED) !== 0,
    router: (header.flags & C.NTF_ROUTER) !== 0,
    proxy: (header.flags & C.NTF_PROXY) !== 0,
  };
  if (lladdr && lladdr.length === 6) n.mac = bytesToMac(lladdr);
  if (attrs[C.NDA_PROTOCOL]) n.protocol = attrU8(attrs[C.NDA_PROTOCOL]);
  return n;
}

const describe = (n: Neighbour) => `neighbour ${n.ip}${n.mac ? ` lladdr ${n.mac}` : ''} on link #${n.ifindex}`;

export class NeighbourOps {
  constructor(private readonly socket: NetlinkSocket) {}

  async add(n: Neighbour, mode: WriteMode = 'add'): Promise<void> {
    await this.socket.request(encodeNeighbour(C.RTM_NEWNEIGH, writeFlags(mode), n), {
      operation: mode,
      object: describe(n),
    });
  }

  addMany(list: Neighbour[], mode: WriteMode = 'add'): Promise<Array<Error | undefined>> {
    const flags = writeFlags(mode);
    return this.socket.bulk(
      list.length,
      (i, w) => writeNeighbour(w.reset(C.RTM_NEWNEIGH, flags), C.RTM_NEWNEIGH, list[i]),
      (i) => ({ operation: mode, object: describe(list[i]) }),
    );
  }

  deleteMany(list: Neighbour[]): Promise<Array<Error | undefined>> {
    return this.socket.bulk(
      list.length,
      (i, w) => writeNeighbour(w.reset(C.RTM_DELNEIGH, 0), C.RTM_DELNEIGH, list[i]),
      (i) => ({ operation: 'delete', object: describe(list[i]) }),
    );
  }

  async delete(n: Neighbour): Promise<void> {
    await this.socket.request(encodeNeighbour(C.RTM_DELNEIGH, 0, n), { operation: 'delete', object: describe(n) });
  }

  // proxy: the proxy entries instead of the neighbours (the kernel keeps them apart).
  async list(family: 4 | 6, ifindex?: number, proxy = false): Promise<Neighbour[]> {
    const w = new MessageWriter(C.RTM_GETNEIGH, C.NLM_F_DUMP);
    // Strict dumps take the device filter as an attribute, not in the header.
    const flags = proxy ? C.NTF_PROXY : 0;
    writeNdmsg(w, { family: family === 4 ? C.AF_INET : C.AF_INET6, ifindex: 0, state: 0, flags, type: 0 });
    if (ifindex !== undefined) w.attrU32(C.NDA_IFINDEX, ifindex);
    return this.socket.dump(
      w.finish(),
      { operation: 'dump', object: `IPv${family} ${proxy ? 'proxy entries' : 'neighbours'}` },
      C.RTM_NEWNEIGH,
      decodeNeighbour,
    );
  }
}
