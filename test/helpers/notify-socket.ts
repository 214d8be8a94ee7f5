import { spawn } from 'node:child_process';
import * as readline from 'node:readline';

// What the tests need for a systemd notification socket, and where it comes from.
export const NOTIFY_PROGRAMS = { python3: 'python3' };

// A unix datagram socket that stands in for systemd's: python3 binds it and prints each datagram
// on a line of its own (a program apart from the library the daemons send with, so the test checks
// the wire, not the library against itself).
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", "\\\\n"), flush=True)
`;

export interface NotifyListener {
  path: string;
  // The next datagram, or a rejection after timeoutMs.
  next(timeoutMs?: number): Promise<string>;
  close(): void;
}

export async function notifyListener(path: string): Promise<NotifyListener> {
  const child = spawn('python3', ['-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  const next = (timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(line);
      const timer = setTimeout(() => reject(new Error(`no datagram on ${path} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  const first = await next(10_000);
  if (first !== 'listening') throw new Error(`the notify listener said "${first}"`);
  return { path, next, close: () => child.kill() };
}
