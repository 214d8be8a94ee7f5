import * as C from './constants';
import { attrU16, attrU16BE, attrU32, attrU8 } from './attributes';
import { bytesToIp, bytesToMac } from './address-bytes';
import { NetlinkError } from './errors';
import { MessageWriter } from './message-writer';
import { WriteMode, readNdmsg, writeFlags, writeNdmsg } from './neigh-message';
import { NetlinkSocket } from './socket';

// A bridge forwarding-database entry: on a vxlan device (`self`) it maps a MAC to a remote VTEP;
// on a bridge (`master`) it tells the bridge which port a MAC is behind.
export interface FdbEntry {
  ifindex: number;
  mac: string;
  // Remote VTEP (vxlan devices only).
  dst?: string;
  vni?: number;
  port?: number;
  // Underlay device to reach dst through (NDA_IFINDEX).
  via?: number;
  vlan?: number;
  // The bridge, for entries reported through it.
  master?: number;
  self?: boolean;
  masterFlag?: boolean;
  externLearn?: boolean;
  sticky?: boolean;
  // In bridge(8)'s words: permanent (the default), static (never ages, may move), dynamic (ages).
  state?: FdbState;
  // NDA_PROTOCOL: who installed it; vxgossip tags its own with RTPROT_VXGOSSIP.
  protocol?: number;
}

// A query (get) carries no state: the kernel rejects one that does.
export type FdbState = 'permanent' | 'static' | 'dynamic';

const FDB_STATE_BITS: Record<FdbState, number> = {
  permanent: C.NUD_NOARP | C.NUD_PERMANENT,
  static: C.NUD_NOARP | C.NUD_REACHABLE,
  dynamic: C.NUD_REACHABLE,
};

function fdbState(bits: number): FdbState {
  if (bits & C.NUD_PERMANENT) return 'permanent';
  return bits & C.NUD_NOARP ? 'static' : 'dynamic';
}

export function encodeFdb(type: number, flags: number, e: FdbEntry, query = false): Buffer {
  return writeFdb(new MessageWriter(type, flags, 96), e, query).finish();
}

export function writeFdb(w: MessageWriter, e: FdbEntry, query = false): MessageWriter {
  let ntf = 0;
  if (e.self) ntf |= C.NTF_SELF;
  if (e.masterFlag) ntf |= C.NTF_MASTER;
  // iproute2's default when neither is given.
  if (!e.self && !e.masterFlag) ntf |= C.NTF_SELF;
  if (e.externLearn) ntf |= C.NTF_EXT_LEARNED;
  if (e.sticky) ntf |= C.NTF_STICKY;
  writeNdmsg(w, {
    family: C.AF_BRIDGE,
    ifindex: e.ifindex,
    state: query ? 0 : FDB_STATE_BITS[e.state ?? 'permanent'],
    flags: ntf,
    type: 0,
  });
  w.attrMac(C.NDA_LLADDR, e.mac);
  if (e.dst !== undefined) w.attrIp(C.NDA_DST, e.dst);
  if (e.vni !== undefined) w.attrU32(C.NDA_VNI, e.vni);
  if (e.port !== undefined) w.attrU16BE(C.NDA_PORT, e.port);
  if (e.via !== undefined) w.attrU32(C.NDA_IFINDEX, e.via);
  if (e.vlan !== undefined) w.attrU16(C.NDA_VLAN, e.vlan);
  if (e.protocol !== undefined) w.attrU8(C.NDA_PROTOCOL, e.protocol);
  return w;
}

export function decodeFdb(payload: Buffer): FdbEntry {
  const { header, attrs } = readNdmsg(payload);
  const lladdr = attrs[C.NDA_LLADDR];
  const dst = attrs[C.NDA_DST];
  // Only what is set: a dump holds many of these, and absent flags cost nothing.
  const entry: FdbEntry = {
    ifindex: header.ifindex,
    mac: lladdr ? bytesToMac(lladdr) : '',
    state: fdbState(header.state),
  };
  if (header.flags & C.NTF_SELF) entry.self = true;
  if (header.flags & C.NTF_MASTER) entry.masterFlag = true;
  if (header.flags & C.NTF_EXT_LEARNED) entry.externLearn = true;
  if (header.flags & C.NTF_STICKY) entry.sticky = true;
  if (dst && (dst.length === 4 || dst.length === 16)) entry.dst = bytesToIp(dst);
  if (attrs[C.NDA_VNI]) entry.vni = attrU32(attrs[C.NDA_VNI]);
  if (attrs[C.NDA_PORT]) entry.port = attrU16BE(attrs[C.NDA_PORT]);
  if (attrs[C.NDA_IFINDEX]) entry.via = attrU32(attrs[C.NDA_IFINDEX]);
  if (attrs[C.NDA_VLAN]) entry.vlan = attrU16(attrs[C.NDA_VLAN]);
  if (attrs[C.NDA_MASTER]) entry.master = attrU32(attrs[C.NDA_MASTER]);
  if (attrs[C.NDA_PROTOCOL]) entry.protocol = attrU8(attrs[C.NDA_PROTOCOL]);
  return entry;
}

const describe = (e: FdbEntry) => `fdb entry ${e.mac}${e.dst ? ` dst ${e.dst}` : ''} on link #${e.ifindex}`;

export class FdbOps {
  constructor(private readonly socket: NetlinkSocket) {}

  async add(entry: FdbEntry, mode: WriteMode = 'add'): Promise<void> {
    await this.socket.request(encodeFdb(C.RTM_NEWNEIGH, writeFlags(mode), entry), {
      operation: mode,
      object: describe(entry),
    });
  }

  // Many entries at once, many per send(2): one result per entry, undefined when it was accepted.
  addMany(entries: FdbEntry[], mode: WriteMode = 'add'): Promise<Array<Error | undefined>> {
    const flags = writeFlags(mode);
    return this.socket.bulk(
      entries.length,
      (i, w) => writeFdb(w.reset(C.RTM_NEWNEIGH, flags), entries[i]),
      (i) => ({ operation: mode, object: describe(entries[i]) }),
    );
  }

  deleteMany(entries: FdbEntry[]): Promise<Array<Error | undefined>> {
    return this.socket.bulk(
      entries.length,
      (i, w) => writeFdb(w.reset(C.RTM_DELNEIGH, 0), entries[i]),
      (i) => ({ operation: 'delete', object: describe(entries[i]) }),
    );
  }

  // On a vxlan device, give dst to remove one remote of a MAC (all of them otherwise).
  async delete(entry: FdbEntry): Promise<void> {
    await this.socket.request(encodeFdb(C.RTM_DELNEIGH, 0, entry), { operation: 'delete', object: describe(entry) });
  }

  // undefined when there is no such entry.
  async get(
    entry: Pick<FdbEntry, 'ifindex' | 'mac' | 'vni' | 'vlan' | 'self' | 'masterFlag'>,
  ): Promise<FdbEntry | undefined> {
    try {
      const replies = await this.socket.request(encodeFdb(C.RTM_GETNEIGH, 0, entry, true), {
        operation: 'get',
        object: describe(entry),
      });
      return replies.length > 0 ? decodeFdb(replies[0].payload) : undefined;
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  // Every entry a bridge holds (on all its ports, NTF_MASTER) and its ports hold themselves.
  async listOfBridge(bridgeIndex: number): Promise<FdbEntry[]> {
    const w = new MessageWriter(C.RTM_GETNEIGH, C.NLM_F_DUMP);
    writeNdmsg(w, { family: C.AF_BRIDGE, ifindex: 0, state: 0, flags: 0, type: 0 });
    w.attrU32(C.NDA_MASTER, bridgeIndex);
    return this.socket.dump(
      w.finish(),
      { operation: 'dump', object: `fdb of bridge #${bridgeIndex}` },
      C.RTM_NEWNEIGH,
      decodeFdb,
    );
  }

  // Every entry of one port (a vxlan device or bridge port), or of every bridge-family device.
  async list(ifindex?: number): Promise<FdbEntry[]> {
    const w = new MessageWriter(C.RTM_GETNEIGH, C.NLM_F_DUMP);
    writeNdmsg(w, { family: C.AF_BRIDGE, ifindex: ifindex ?? 0, state: 0, flags: 0, type: 0 });
    return this.socket.dump(
      w.finish(),
      { operation: 'dump', object: ifindex ? `fdb of link #${ifindex}` : 'fdb' },
      C.RTM_NEWNEIGH,
      decodeFdb,
    );
  }
}
