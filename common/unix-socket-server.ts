import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

// What the agent's local HTTP sockets share (the Docker plugin's, the CNI plugin's).

// Another live process (another agent on this host) serves the socket.
export class UnixSocketInUse extends Error {}

// Whether a live process answers on a unix socket (another agent on this host).
export function unixSocketInUse(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

// Listens on `socket`, its directory made if missing. A socket file no live process answers on (left by
// an agent that died) is replaced; one that a live process serves (UnixSocketInUse), or a file that is
// not a socket, is refused. Root only (0600): whoever connects can plug veths into VNIs.
export async function listenOnUnixSocket(server: http.Server, socket: string): Promise<void> {
  fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
  const existing = fs.lstatSync(socket, { throwIfNoEntry: false });
  if (existing && !existing.isSocket()) throw new Error(`${socket} exists and is not a socket; move it away`);
  const inUse = () => new UnixSocketInUse(`another process (another agent?) serves ${socket}`);
  if (existing && (await unixSocketInUse(socket))) throw inUse();
  // Another agent starting at once may have removed it first.
  if (existing) fs.rmSync(socket, { force: true });
  // Two agents starting at once both find no socket: the second one's listen fails.
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? inUse() : err));
    server.listen(socket, () => resolve());
  });
  try {
    fs.chmodSync(socket, 0o600);
  } catch (err) {
    // Another agent starting at once replaced the socket file: the path is its.
    server.close();
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? inUse() : err;
  }
}

// A request's body, or undefined (and the request destroyed) once it passes maxBytes.
export async function readBodyUpTo(req: http.IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
