import { MsgpackError, Reader, Value, encode } from './msgpack';

// memberlist's message types (the first byte of every message).
export enum MessageType {
  Ping = 0,
  IndirectPing = 1,
  Ack = 2,
  Suspect = 3,
  Alive = 4,
  Dead = 5,
  PushPull = 6,
  Compound = 7,
  User = 8,
  Compress = 9,
  Encrypt = 10,
  Nack = 11,
  HasCrc = 12,
  Err = 13,
}

export interface Ping {
  seqNo: number;
  node: string;
  sourceAddr?: Buffer;
  sourcePort?: number;
  sourceNode?: string;
}

export interface IndirectPing {
  seqNo: number;
  target: Buffer;
  port: number;
  node: string;
  nack: boolean;
  sourceAddr?: Buffer;
  sourcePort?: number;
  sourceNode?: string;
}

export interface Ack {
  seqNo: number;
  payload: Buffer | null;
}

export interface Nack {
  seqNo: number;
}

export interface Suspect {
  incarnation: number;
  node: string;
  from: string;
}

export type Dead = Suspect;

// [PMin, PMax, PCur, DMin, DMax, DCur]
export type Vsn = [number, number, number, number, number, number];

export interface Alive {
  incarnation: number;
  node: string;
  addr: Buffer;
  port: number;
  meta: Buffer;
  vsn: Vsn | number[];
}

export interface PushPullHeader {
  nodes: number;
  userStateLen: number;
  join: boolean;
}

export enum NodeStateType {
  Alive = 0,
  Suspect = 1,
  Dead = 2,
  Left = 3,
}

export interface PushNodeState {
  name: string;
  addr: Buffer;
  port: number;
  meta: Buffer;
  incarnation: number;
  state: NodeStateType;
  vsn: number[];
}

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

type Struct = { [key: string]: Value | undefined };

// Field readers with Go's decoding rules: nil is the zero value, strings must be str-family,
// unsigned fields must be non-negative integers within range.
const get = (s: Struct, key: string) => s[key] ?? null;

function str(s: Struct, key: string): string {
  const v = get(s, key);
  if (v === null) return '';
  if (!Buffer.isBuffer(v)) throw new DecodeError(`${key}: expected a string`);
  return v.toString('utf8');
}

function bytes(s: Struct, key: string): Buffer {
  const v = get(s, key);
  if (v === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' && x >= 0 && x <= 255))
    return Buffer.from(v as number[]);
  throw new DecodeError(`${key}: expected bytes`);
}

// A decoded value as an error message names it: a scalar itself, a container by its kind.
function shown(v: Value): string {
  if (Buffer.isBuffer(v)) return 'bytes';
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'a map';
  return String(v);
}

function uint(s: Struct, key: string, max: number): number {
  const v = get(s, key);
  if (v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw new DecodeError(`${key}: expected an integer 0..${max}, got ${shown(v)}`);
  return v;
}

function int(s: Struct, key: string): number {
  const v = get(s, key);
  if (v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new DecodeError(`${key}: expected an integer`);
  return v;
}

function bool(s: Struct, key: string): boolean {
  const v = get(s, key);
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  throw new DecodeError(`${key}: expected a bool`);
}

const U16 = 0xffff;
const U32 = 0xffffffff;

export function readStruct(reader: Reader): Struct {
  const v = reader.read();
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || Array.isArray(v) || v instanceof Map) {
    throw new DecodeError('expected a msgpack map');
  }
  return v;
}

const withType = (type: MessageType, body: Value) => Buffer.concat([Buffer.from([type]), encode(body)]);

// Optional fields are left out when empty, as Go's omitempty does.
const optional = <T>(v: T | undefined, empty: (v: T) => boolean) => (v === undefined || empty(v) ? undefined : v);
const noBytes = (b: Buffer) => b.length === 0;
const noString = (s: string) => s === '';
const zero = (n: number) => n === 0;

export function encodePing(p: Ping): Buffer {
  return withType(MessageType.Ping, {
    SeqNo: p.seqNo,
    Node: Buffer.from(p.node),
    SourceAddr: optional(p.sourceAddr, noBytes),
    SourcePort: optional(p.sourcePort, zero),
    SourceNode: p.sourceNode === undefined || noString(p.sourceNode) ? undefined : Buffer.from(p.sourceNode),
  });
}

export function decodePing(s: Struct): Ping {
  return {
    seqNo: uint(s, 'SeqNo', U32),
    node: str(s, 'Node'),
    sourceAddr: bytes(s, 'SourceAddr'),
    sourcePort: uint(s, 'SourcePort', U16),
    sourceNode: str(s, 'SourceNode'),
  };
}

export function encodeIndirectPing(p: IndirectPing): Buffer {
  return withType(MessageType.IndirectPing, {
    SeqNo: p.seqNo,
    Target: p.target,
    Port: p.port,
    Node: Buffer.from(p.node),
    Nack: p.nack,
    SourceAddr: optional(p.sourceAddr, noBytes),
    SourcePort: optional(p.sourcePort, zero),
    SourceNode: p.sourceNode === undefined || noString(p.sourceNode) ? undefined : Buffer.from(p.sourceNode),
  });
}

export function decodeIndirectPing(s: Struct): IndirectPing {
  return {
    seqNo: uint(s, 'SeqNo', U32),
    target: bytes(s, 'Target'),
    port: uint(s, 'Port', U16),
    node: str(s, 'Node'),
    nack: bool(s, 'Nack'),
    sourceAddr: bytes(s, 'SourceAddr'),
    sourcePort: uint(s, 'SourcePort', U16),
    sourceNode: str(s, 'SourceNode'),
  };
}

export function encodeAck(a: Ack): Buffer {
  return withType(MessageType.Ack, { SeqNo: a.seqNo, Payload: a.payload });
}

export function decodeAck(s: Struct): Ack {
  const payload = get(s, 'Payload');
  return { seqNo: uint(s, 'SeqNo', U32), payload: payload === null ? null : bytes(s, 'Payload') };
}

export function encodeNack(n: Nack): Buffer {
  return withType(MessageType.Nack, { SeqNo: n.seqNo });
}

export function decodeNack(s: Struct): Nack {
  return { seqNo: uint(s, 'SeqNo', U32) };
}

export function encodeSuspect(m: Suspect): Buffer {
  return withType(MessageType.Suspect, {
    Incarnation: m.incarnation,
    Node: Buffer.from(m.node),
    From: Buffer.from(m.from),
  });
}

export function encodeDead(m: Dead): Buffer {
  return withType(MessageType.Dead, {
    Incarnation: m.incarnation,
    Node: Buffer.from(m.node),
    From: Buffer.from(m.from),
  });
}

export function decodeSuspectOrDead(s: Struct): Suspect {
  return { incarnation: uint(s, 'Incarnation', U32), node: str(s, 'Node'), from: str(s, 'From') };
}

export function encodeAlive(a: Alive): Buffer {
  return withType(MessageType.Alive, {
    Incarnation: a.incarnation,
    Node: Buffer.from(a.node),
    Addr: a.addr,
    Port: a.port,
    Meta: a.meta,
    Vsn: Buffer.from(a.vsn),
  });
}

export function decodeAlive(s: Struct): Alive {
  return {
    incarnation: uint(s, 'Incarnation', U32),
    node: str(s, 'Node'),
    addr: bytes(s, 'Addr'),
    port: uint(s, 'Port', U16),
    meta: bytes(s, 'Meta'),
    vsn: [...bytes(s, 'Vsn')],
  };
}

export function encodePushPullHeader(h: PushPullHeader): Buffer {
  return encode({ Nodes: h.nodes, UserStateLen: h.userStateLen, Join: h.join });
}

export function decodePushPullHeader(s: Struct): PushPullHeader {
  return { nodes: int(s, 'Nodes'), userStateLen: int(s, 'UserStateLen'), join: bool(s, 'Join') };
}

export function encodePushNodeState(n: PushNodeState): Buffer {
  return encode({
    Name: Buffer.from(n.name),
    Addr: n.addr,
    Port: n.port,
    Meta: n.meta,
    Incarnation: n.incarnation,
    State: n.state,
    Vsn: Buffer.from(n.vsn),
  });
}

export function decodePushNodeState(s: Struct): PushNodeState {
  const state = int(s, 'State');
  if (state < 0 || state > 3) throw new DecodeError(`State: ${state} is not a node state`);
  return {
    name: str(s, 'Name'),
    addr: bytes(s, 'Addr'),
    port: uint(s, 'Port', U16),
    meta: bytes(s, 'Meta'),
    incarnation: uint(s, 'Incarnation', U32),
    state,
    vsn: [...bytes(s, 'Vsn')],
  };
}

export function encodeErr(error: string): Buffer {
  return withType(MessageType.Err, { Error: Buffer.from(error) });
}

export function decodeErr(s: Struct): string {
  return str(s, 'Error');
}

export function encodeUserMsgHeader(length: number): Buffer {
  return encode({ UserMsgLen: length });
}

export function decodeUserMsgHeader(s: Struct): number {
  return int(s, 'UserMsgLen');
}

export function encodeCompressBody(compressed: Buffer): Buffer {
  return encode({ Algo: 0, Buf: compressed });
}

export function decodeCompressBody(s: Struct): { algo: number; buf: Buffer } {
  return { algo: uint(s, 'Algo', 255), buf: bytes(s, 'Buf') };
}

// One message body (after its type byte) as a struct; any msgpack problem becomes a DecodeError.
export function parseBody(body: Buffer): Struct {
  try {
    return readStruct(new Reader(body));
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError((err as MsgpackError).message);
  }
}
