import { loadAddon } from '../native/load-addon';

export interface NativeHandle {
  readonly __brand: 'netlink-socket';
}

// The N-API addon in native/netlink_socket.c, compiled by node-gyp during `npm ci`.
export interface NativeNetlink {
  open(
    protocol: number,
    groups: number[],
    receiveBuffer: number,
    netns: string | null,
  ): { handle: NativeHandle; portId: number };
  start(
    handle: NativeHandle,
    onData: (err: (Error & { errno?: number }) | undefined, data: Buffer | undefined) => void,
  ): void;
  send(handle: NativeHandle, data: Buffer): number;
  ref(handle: NativeHandle, keepAlive: boolean): void;
  close(handle: NativeHandle): void;
}

let loaded: NativeNetlink | undefined;

export function nativeNetlink(): NativeNetlink {
  loaded ??= loadAddon<NativeNetlink>('netlink_socket');
  return loaded;
}
