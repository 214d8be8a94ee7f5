// The part of unix-dgram (it ships no types) that sd-notify.ts uses.
declare module 'unix-dgram' {
  interface UnixDgramSocket {
    send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error) => void): void;
    close(): void;
  }
  export function createSocket(type: 'unix_dgram'): UnixDgramSocket;
}
