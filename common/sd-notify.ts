import * as os from 'node:os';
import { createSocket } from 'unix-dgram';
import type { Logger } from './log';

// systemd's readiness protocol (sd_notify(3)): one datagram, such as READY=1, to the unix socket
// $NOTIFY_SOCKET names. Node has no unix datagram sockets, so unix-dgram (a small native module)
// sends it — from the daemon's own process, which NotifyAccess=main requires: the systemd-notify
// program would send from a child that may exit before systemd reads its message, and systemd
// then cannot tell which unit it came from.
// Returns false outside systemd (no $NOTIFY_SOCKET); throws when the socket cannot be reached.
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const at = env.NOTIFY_SOCKET;
  if (!at) return false;
  // unix-dgram binds and sends to paths only; systemd itself uses a path (/run/systemd/notify).
  if (at.startsWith('@'))
    throw new Error(`NOTIFY_SOCKET ${at}: an abstract socket is not supported; give the path of a socket`);
  const socket = createSocket('unix_dgram');
  const message = Buffer.from(state);
  let failure: Error | undefined;
  try {
    // unix-dgram sends at once and calls back before send returns.
    socket.send(message, 0, message.length, at, (err) => (failure = err));
  } finally {
    socket.close();
  }
  if (failure) throw new Error(`NOTIFY_SOCKET ${at}: cannot send ${state}: ${errnoName(failure)}`);
  return true;
}

// unix-dgram reports a negative errno ("send -2"); its name (ENOENT) says what to look at.
function errnoName(err: Error & { code?: unknown }): string {
  const errno = typeof err.code === 'number' ? -err.code : NaN;
  const name = Object.entries(os.constants.errno).find(([, n]) => n === errno)?.[0];
  return name ?? err.message;
}

// For a daemon: a notification that cannot be sent is worth a warning, not an exit (systemd then
// gives up on the start by its timeout, and the warning says why).
export function tellSystemd(state: string, log: Logger): void {
  try {
    if (sdNotify(state)) log.debug('told systemd', { state });
  } catch (err) {
    log.warn('cannot tell systemd', { state, error: (err as Error).message });
  }
}
