import * as path from 'node:path';
import { repoRoot } from '../../common/paths';

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
  if (loaded === undefined) {
    const file = path.join(repoRoot, 'build', 'Release', 'netlink_socket.node');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- an addon at a computed path has no import form
      loaded = require(file) as NativeNetlink;
    } catch (err) {
      throw new Error(
        `cannot load the netlink addon ${file}: ${(err as Error).message}; run \`npm ci\` (or \`npm rebuild\`) to build it`,
      );
    }
  }
  return loaded;
}
