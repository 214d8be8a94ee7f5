import { loadAddon } from '../native/load-addon';

export interface IcmpHandle {
  readonly __brand: 'icmp-socket';
}

// The N-API addon in native/icmp_socket.c: raw ICMP and ICMPv6 sockets, which Node does not have.
// (Ours rather than the npm package raw-socket: see the note at the top of the C file.)
export interface NativeIcmp {
  // Needs CAP_NET_RAW; the socket receives echo replies only.
  open(ipVersion: 4 | 6): IcmpHandle;
  start(
    handle: IcmpHandle,
    onDatagram: (
      err: (Error & { errno?: number }) | undefined,
      source: string | undefined,
      datagram: Buffer | undefined,
    ) => void,
  ): void;
  // Throws with .errno when the kernel refuses (no route, a firewall's EPERM, a full send buffer).
  send(handle: IcmpHandle, address: string, datagram: Buffer): number;
  ref(handle: IcmpHandle, keepAlive: boolean): void;
  close(handle: IcmpHandle): void;
}

let loaded: NativeIcmp | undefined;

export function nativeIcmp(): NativeIcmp {
  loaded ??= loadAddon<NativeIcmp>('icmp_socket');
  return loaded;
}
