import { constants } from 'node:os';
import * as C from './constants';
import { Attributes, attrNested, attrString, attrU32, attrU8, parseAttributes } from './attributes';
import { bytesToMac, macToBytes } from './address-bytes';
import { NetlinkDecodeError, NetlinkError } from './errors';
import { MessageWriter } from './message-writer';
import { NetlinkSocket } from './socket';
import { VxlanOptions, decodeVxlan, encodeVxlan } from './vxlan';

export interface BridgePortInfo {
  learning: boolean;
  neighSuppress: boolean;
}

export interface Link {
  index: number;
  name: string;
  // IFLA_INFO_KIND: 'vxlan', 'bridge', 'veth', ... (undefined for physical devices).
  kind: string | undefined;
  flags: number;
  up: boolean;
  mtu: number;
  mac: string | undefined;
  master: number | undefined;
  alias: string | undefined;
  // IFLA_LINK: the peer of a veth, the lower device of a vlan.
  link: number | undefined;
  vxlan?: VxlanOptions;
  // Present when the link is a bridge port (IFLA_INFO_SLAVE_KIND "bridge").
  bridgePort?: BridgePortInfo;
}

export interface LinkSpec {
  name: string;
  kind: 'vxlan' | 'bridge' | 'veth' | 'dummy';
  mtu?: number;
  mac?: string;
  up?: boolean;
  master?: number;
  alias?: string;
  vxlan?: VxlanOptions;
  // veth only: the peer's name and, optionally, the namespace (open file descriptor) it starts in.
  peer?: { name: string; netnsFd?: number; mtu?: number };
}

export interface LinkChanges {
  name?: string;
  mtu?: number;
  mac?: string;
  up?: boolean;
  // 0 removes the link from its master.
  master?: number;
  // '' clears it.
  alias?: string;
  // Moves the link to the namespace behind this open file descriptor.
  netnsFd?: number;
  vxlan?: VxlanOptions;
}

function writeIfinfo(w: MessageWriter, family: number, index: number, flags: number, change: number): void {
  w.u8(family).u8(0).u16(0).i32(index).u32(flags).u32(change);
}

function writeCommon(w: MessageWriter, changes: Omit<LinkChanges, 'up' | 'vxlan' | 'alias'>): void {
  if (changes.name !== undefined) w.attrString(C.IFLA_IFNAME, changes.name);
  if (changes.mtu !== undefined) w.attrU32(C.IFLA_MTU, changes.mtu);
  if (changes.mac !== undefined) w.attr(C.IFLA_ADDRESS, macToBytes(changes.mac));
  if (changes.master !== undefined) w.attrU32(C.IFLA_MASTER, changes.master);
  if (changes.netnsFd !== undefined) w.attrU32(C.IFLA_NET_NS_FD, changes.netnsFd);
}

export function encodeCreateLink(spec: LinkSpec): Buffer {
  const w = new MessageWriter(C.RTM_NEWLINK, C.NLM_F_CREATE | C.NLM_F_EXCL, 256);
  writeIfinfo(w, C.AF_UNSPEC, 0, spec.up ? C.IFF_UP : 0, spec.up ? C.IFF_UP : 0);
  writeCommon(w, spec);
  const info = w.nest(C.IFLA_LINKINFO);
  w.attrString(C.IFLA_INFO_KIND, spec.kind);
  if (spec.kind === 'vxlan') {
    if (spec.vxlan === undefined) throw new TypeError(`vxlan link ${spec.name} needs vxlan options`);
    const data = w.nest(C.IFLA_INFO_DATA);
    encodeVxlan(w, spec.vxlan);
    w.end(data);
  } else if (spec.kind === 'veth' && spec.peer) {
    const data = w.nest(C.IFLA_INFO_DATA);
    const peer = w.nest(C.VETH_INFO_PEER);
    writeIfinfo(w, C.AF_UNSPEC, 0, 0, 0);
    w.attrString(C.IFLA_IFNAME, spec.peer.name);
    if (spec.peer.mtu !== undefined) w.attrU32(C.IFLA_MTU, spec.peer.mtu);
    if (spec.peer.netnsFd !== undefined) w.attrU32(C.IFLA_NET_NS_FD, spec.peer.netnsFd);
    w.end(peer);
    w.end(data);
  }
  w.end(info);
  return w.finish();
}

export function encodeChangeLink(index: number, kind: string | undefined, changes: LinkChanges): Buffer {
  const w = new MessageWriter(C.RTM_NEWLINK, 0);
  const upMask = changes.up === undefined ? 0 : C.IFF_UP;
  writeIfinfo(w, C.AF_UNSPEC, index, changes.up ? C.IFF_UP : 0, upMask);
  writeCommon(w, changes);
  if (changes.alias !== undefined) w.attrString(C.IFLA_IFALIAS, changes.alias);
  if (changes.vxlan) {
    const info = w.nest(C.IFLA_LINKINFO);
    w.attrString(C.IFLA_INFO_KIND, kind ?? 'vxlan');
    const data = w.nest(C.IFLA_INFO_DATA);
    encodeVxlan(w, changes.vxlan);
    w.end(data);
    w.end(info);
  }
  return w.finish();
}

export function encodeDeleteLink(index: number): Buffer {
  const w = new MessageWriter(C.RTM_DELLINK, 0);
  writeIfinfo(w, C.AF_UNSPEC, index, 0, 0);
  return w.finish();
}

export function encodeGetLink(target: number | string): Buffer {
  const w = new MessageWriter(C.RTM_GETLINK, 0);
  writeIfinfo(w, C.AF_UNSPEC, typeof target === 'number' ? target : 0, 0, 0);
  if (typeof target === 'string') w.attrString(C.IFLA_IFNAME, target);
  return w.finish();
}

export function encodeDumpLinks(): Buffer {
  const w = new MessageWriter(C.RTM_GETLINK, C.NLM_F_DUMP);
  writeIfinfo(w, C.AF_UNSPEC, 0, 0, 0);
  return w.finish();
}

// Bridge port options go through the bridge's own family (what `bridge link set` sends).
export function encodeSetBridgePort(index: number, options: Partial<BridgePortInfo>): Buffer {
  const w = new MessageWriter(C.RTM_SETLINK, 0);
  writeIfinfo(w, C.AF_BRIDGE, index, 0, 0);
  const info = w.nest(C.IFLA_PROTINFO);
  if (options.learning !== undefined) w.attrU8(C.IFLA_BRPORT_LEARNING, options.learning ? 1 : 0);
  if (options.neighSuppress !== undefined) w.attrU8(C.IFLA_BRPORT_NEIGH_SUPPRESS, options.neighSuppress ? 1 : 0);
  w.end(info);
  return w.finish();
}

function decodeBridgePort(data: Attributes | undefined): BridgePortInfo | undefined {
  if (data === undefined) return undefined;
  return {
    learning: attrU8(data[C.IFLA_BRPORT_LEARNING]) === 1,
    neighSuppress: attrU8(data[C.IFLA_BRPORT_NEIGH_SUPPRESS]) === 1,
  };
}

export function decodeLink(payload: Buffer): Link {
  if (payload.length < 16)
    throw new NetlinkDecodeError(`link message of ${payload.length} bytes is shorter than ifinfomsg`);
  const attrs = parseAttributes(payload, 16);
  const name = attrString(attrs[C.IFLA_IFNAME]);
  if (name === undefined) throw new NetlinkDecodeError('link message without a name');
  const flags = payload.readUInt32LE(8);
  const info = attrNested(attrs[C.IFLA_LINKINFO]);
  const kind = attrString(info?.[C.IFLA_INFO_KIND]);
  const link: Link = {
    index: payload.readInt32LE(4),
    name,
    kind,
    flags,
    up: (flags & C.IFF_UP) !== 0,
    mtu: attrU32(attrs[C.IFLA_MTU]) ?? 0,
    mac: attrs[C.IFLA_ADDRESS]?.length === 6 ? bytesToMac(attrs[C.IFLA_ADDRESS]) : undefined,
    master: attrU32(attrs[C.IFLA_MASTER]),
    alias: attrString(attrs[C.IFLA_IFALIAS]) || undefined,
    link: attrU32(attrs[C.IFLA_LINK]),
  };
  if (kind === 'vxlan' && info?.[C.IFLA_INFO_DATA]) link.vxlan = decodeVxlan(parseAttributes(info[C.IFLA_INFO_DATA]));
  if (attrString(info?.[C.IFLA_INFO_SLAVE_KIND]) === 'bridge')
    link.bridgePort = decodeBridgePort(attrNested(info?.[C.IFLA_INFO_SLAVE_DATA]));
  return link;
}

const describe = (target: number | string) => (typeof target === 'number' ? `link #${target}` : `link ${target}`);

export class LinkOps {
  constructor(private readonly socket: NetlinkSocket) {}

  async create(spec: LinkSpec): Promise<void> {
    await this.socket.request(encodeCreateLink(spec), {
      operation: `create ${spec.kind}`,
      object: describe(spec.name),
    });
    // The kernel ignores IFLA_IFALIAS when it creates a link, so the alias is a second step.
    if (spec.alias !== undefined) {
      const created = await this.get(spec.name);
      if (created === undefined)
        throw new NetlinkError(
          constants.errno.ENODEV,
          'set alias on',
          describe(spec.name),
          'the link vanished right after creation',
        );
      await this.change(created, { alias: spec.alias });
    }
  }

  async change(link: Pick<Link, 'index' | 'name' | 'kind'>, changes: LinkChanges): Promise<void> {
    await this.socket.request(encodeChangeLink(link.index, link.kind, changes), {
      operation: 'change',
      object: describe(link.name),
    });
  }

  async delete(link: Pick<Link, 'index' | 'name'>): Promise<void> {
    await this.socket.request(encodeDeleteLink(link.index), { operation: 'delete', object: describe(link.name) });
  }

  // undefined when no such link exists.
  async get(target: number | string): Promise<Link | undefined> {
    try {
      const replies = await this.socket.request(encodeGetLink(target), { operation: 'get', object: describe(target) });
      return replies.length > 0 ? decodeLink(replies[0].payload) : undefined;
    } catch (err) {
      if (err instanceof NetlinkError && (err.code === 'ENODEV' || err.code === 'ENOENT')) return undefined;
      throw err;
    }
  }

  async list(): Promise<Link[]> {
    return this.socket.dump(encodeDumpLinks(), { operation: 'dump', object: 'links' }, C.RTM_NEWLINK, decodeLink);
  }

  async setBridgePort(link: Pick<Link, 'index' | 'name'>, options: Partial<BridgePortInfo>): Promise<void> {
    await this.socket.request(encodeSetBridgePort(link.index, options), {
      operation: 'set bridge port options on',
      object: describe(link.name),
    });
  }
}
