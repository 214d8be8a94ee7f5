import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import { bytesToIp, bytesToMac, ipToBytes, writeMac } from '../netlink/address-bytes';

// The datapath's keys and values, byte for byte as program/datapath.bpf.c declares them. Integers are
// in the host's byte order (the program reads them as plain __u32); addresses in network order.

export interface EndpointKey {
  vni: number;
  // IPv4 or IPv6; the family is part of the key.
  address: string;
}

// An endpoint on another host, reached through the external vxlan device.
export interface RemoteEndpoint {
  vtep: string;
  // The inner destination MAC the remote side accepts: its L3 device's MAC (l3RouterMac of its VTEP).
  mac: string;
  // The external (collect_md) vxlan device for the VNI's UDP port.
  tunnelIfindex: number;
}

// An endpoint on this host, reached through its host-side veth.
export interface LocalEndpoint {
  ifindex: number;
  // The workload's own MAC.
  mac: string;
}

// A host-side veth (keyed by its ifindex): the VNI of its workload and the veth's MAC, which the
// workload reaches its gateway at.
export interface WorkloadInterface {
  vni: number;
  mac: string;
}

export interface MapCodec<K, V> {
  readonly keySize: number;
  readonly valueSize: number;
  encodeKey(key: K): Buffer;
  decodeKey(bytes: Buffer): K;
  encodeValue(value: V): Buffer;
  decodeValue(bytes: Buffer): V;
}

export class BpfDecodeError extends Error {
  override readonly name = 'BpfDecodeError';
}

const littleEndian = endianness() === 'LE';
const writeU32 = (buf: Buffer, value: number, offset: number) =>
  littleEndian ? buf.writeUInt32LE(value, offset) : buf.writeUInt32BE(value, offset);
const readU32 = (buf: Buffer, offset: number) => (littleEndian ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset));

const VNI_MAX = 0xffffff;
const FAMILY_IPV4 = 4;
const FAMILY_IPV6 = 6;

function checkRange(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${what} ${value} is out of range ${min}..${max}`);
  return value;
}

// Family byte, then the address in 16 bytes (IPv4 in the first 4).
function writeAddress(buf: Buffer, familyAt: number, addressAt: number, address: string, what: string): void {
  if (isIPv4(address)) buf[familyAt] = FAMILY_IPV4;
  else if (isIPv6(address)) buf[familyAt] = FAMILY_IPV6;
  else throw new TypeError(`${what} "${address}" is not an IPv4 or IPv6 address`);
  ipToBytes(address).copy(buf, addressAt);
}

function readAddress(buf: Buffer, familyAt: number, addressAt: number, what: string): string {
  const family = buf[familyAt];
  if (family === FAMILY_IPV4) return bytesToIp(buf.subarray(addressAt, addressAt + 4));
  if (family === FAMILY_IPV6) return bytesToIp(buf.subarray(addressAt, addressAt + 16));
  throw new BpfDecodeError(`${what}: address family ${family} is neither 4 nor 6`);
}

function checkSize(bytes: Buffer, size: number, what: string): void {
  if (bytes.length !== size) throw new BpfDecodeError(`${what}: ${bytes.length} bytes, expected ${size}`);
}

function macOf(mac: string, what: string): Buffer {
  const out = Buffer.alloc(6);
  try {
    writeMac(out, 0, mac);
  } catch {
    throw new TypeError(`${what} "${mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  return out;
}

// struct endpoint_key { __u32 vni; __u8 family; __u8 pad[3]; __u8 addr[16]; }
const ENDPOINT_KEY_SIZE = 24;

function encodeEndpointKey(key: EndpointKey): Buffer {
  const buf = Buffer.alloc(ENDPOINT_KEY_SIZE);
  writeU32(buf, checkRange('VNI', key.vni, 1, VNI_MAX), 0);
  writeAddress(buf, 4, 8, key.address, 'endpoint address');
  return buf;
}

function decodeEndpointKey(bytes: Buffer): EndpointKey {
  checkSize(bytes, ENDPOINT_KEY_SIZE, 'endpoint key');
  return { vni: readU32(bytes, 0), address: readAddress(bytes, 4, 8, 'endpoint key') };
}

const ifindexOf = (value: number) => checkRange('ifindex', value, 1, 0x7fffffff);

// struct remote_endpoint { __u8 vtep[16]; __u8 vtep_family; __u8 pad; __u8 mac[6]; __u32 tunnel_ifindex; }
export const remoteEndpointCodec: MapCodec<EndpointKey, RemoteEndpoint> = {
  keySize: ENDPOINT_KEY_SIZE,
  valueSize: 28,
  encodeKey: encodeEndpointKey,
  decodeKey: decodeEndpointKey,
  encodeValue(value) {
    const buf = Buffer.alloc(28);
    writeAddress(buf, 16, 0, value.vtep, 'VTEP');
    macOf(value.mac, 'remote MAC').copy(buf, 18);
    writeU32(buf, ifindexOf(value.tunnelIfindex), 24);
    return buf;
  },
  decodeValue(bytes) {
    checkSize(bytes, 28, 'remote endpoint');
    return {
      vtep: readAddress(bytes, 16, 0, 'remote endpoint VTEP'),
      mac: bytesToMac(bytes.subarray(18, 24)),
      tunnelIfindex: readU32(bytes, 24),
    };
  },
};

// struct local_endpoint { __u32 ifindex; __u8 mac[6]; __u8 pad[2]; }
export const localEndpointCodec: MapCodec<EndpointKey, LocalEndpoint> = {
  keySize: ENDPOINT_KEY_SIZE,
  valueSize: 12,
  encodeKey: encodeEndpointKey,
  decodeKey: decodeEndpointKey,
  encodeValue(value) {
    const buf = Buffer.alloc(12);
    writeU32(buf, ifindexOf(value.ifindex), 0);
    macOf(value.mac, 'workload MAC').copy(buf, 4);
    return buf;
  },
  decodeValue(bytes) {
    checkSize(bytes, 12, 'local endpoint');
    return { ifindex: readU32(bytes, 0), mac: bytesToMac(bytes.subarray(4, 10)) };
  },
};

// key: __u32 ifindex; value: struct workload_if { __u32 vni; __u8 mac[6]; __u8 pad[2]; }
export const workloadInterfaceCodec: MapCodec<number, WorkloadInterface> = {
  keySize: 4,
  valueSize: 12,
  encodeKey(ifindex) {
    const buf = Buffer.alloc(4);
    writeU32(buf, ifindexOf(ifindex), 0);
    return buf;
  },
  decodeKey(bytes) {
    checkSize(bytes, 4, 'interface key');
    return readU32(bytes, 0);
  },
  encodeValue(value) {
    const buf = Buffer.alloc(12);
    writeU32(buf, checkRange('VNI', value.vni, 1, VNI_MAX), 0);
    macOf(value.mac, 'veth MAC').copy(buf, 4);
    return buf;
  },
  decodeValue(bytes) {
    checkSize(bytes, 12, 'workload interface');
    return { vni: readU32(bytes, 0), mac: bytesToMac(bytes.subarray(4, 10)) };
  },
};
