import { constants } from 'node:os';
import type { IpVersion } from './icmp-echo';
import { IcmpHandle, nativeIcmp } from './icmp-native';

// What the VTEP prober sends echo requests through and hears replies from: the kernel's raw ICMP
// sockets here, a fake in unit tests.
export interface EchoSockets {
  // Throws (with .errno) when the kernel refuses to send.
  send(version: IpVersion, address: string, datagram: Buffer): void;
  close(): void;
}

export interface EchoSocketEvents {
  datagram(version: IpVersion, source: string, datagram: Buffer): void;
  error(err: Error): void;
}

export type OpenEchoSockets = (events: EchoSocketEvents) => EchoSockets;

function openOne(version: IpVersion): IcmpHandle {
  try {
    return nativeIcmp().open(version);
  } catch (err) {
    const e = err as Error & { errno?: number };
    const hint = e.errno === constants.errno.EPERM ? ': it needs CAP_NET_RAW, run the agent as root' : '';
    throw Object.assign(new Error(`cannot open a raw ICMPv${version} socket for VTEP probes (${e.message})${hint}`), {
      cause: e,
      errno: e.errno,
    });
  }
}

// One raw socket per IP version, in the process's network namespace. They do not keep the process
// alive. A kernel without IPv6 refuses every IPv6 send, so IPv6 VTEPs turn silent: unreachable from here.
export const openIcmpSockets: OpenEchoSockets = (events) => {
  const native = nativeIcmp();
  const handles = new Map<IpVersion, IcmpHandle>([[4, openOne(4)]]);
  let noIpv6: Error | undefined;
  try {
    handles.set(6, openOne(6));
  } catch (err) {
    if ((err as { errno?: number }).errno !== constants.errno.EAFNOSUPPORT) {
      native.close(handles.get(4)!);
      throw err;
    }
    noIpv6 = err as Error;
  }
  for (const [version, handle] of handles) {
    native.start(handle, (err, source, datagram) => {
      if (err) events.error(err);
      else events.datagram(version, source!, datagram!);
    });
    native.ref(handle, false);
  }
  return {
    send(version, address, datagram) {
      const handle = handles.get(version);
      if (handle === undefined) throw noIpv6 ?? new Error('the ICMP sockets are closed');
      native.send(handle, address, datagram);
    },
    close() {
      for (const handle of handles.values()) native.close(handle);
      handles.clear();
    },
  };
};
