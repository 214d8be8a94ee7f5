import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Logger } from '../../common/log';
import { listenOnUnixSocket, readBodyUpTo } from '../../common/unix-socket-server';

// Docker's plugin protocol: HTTP/1.1 POST /<Interface>.<Method> with a JSON body on a unix socket that
// Docker finds by its name in its plugin directory (legacy discovery: /run/docker/plugins/NAME.sock).
export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';
export const DEFAULT_PLUGIN_DIR = '/run/docker/plugins';
export const PLUGIN_NAME = 'vxgossip';
// Docker's requests are a few hundred bytes; a body past this is not Docker.
export const MAX_REQUEST_BYTES = 64 * 1024;
const CLOSE_GRACE_MS = 1_000;

export type PluginRequest = Record<string, unknown>;
export type PluginHandler = (request: PluginRequest) => Promise<object> | object;
export type PluginHandlers = Record<string, PluginHandler>;

// Refused input: answered with an HTTP error status, as the protocol asks for a request it cannot decode.
export class BadPluginRequest extends Error {}

export interface PluginAnswer {
  status: number;
  body: object;
}

// One request, transport aside: an operation that fails answers 200 with the message, which Docker
// shows as the reason its command failed, under "Err" for the network driver and "Error" for the IPAM
// driver (libnetwork reads each so); a request it cannot decode answers 4xx with "Err", which Docker's
// plugin client reads for every interface.
export async function answer(handlers: PluginHandlers, method: string, text: string): Promise<PluginAnswer> {
  const handler = Object.prototype.hasOwnProperty.call(handlers, method) ? handlers[method] : undefined;
  if (!handler)
    return { status: 404, body: { Err: `vxgossip: no plugin method ${JSON.stringify(method.slice(0, 64))}` } };
  let request: unknown;
  try {
    request = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return { status: 400, body: { Err: `vxgossip: ${method}: the body is not JSON` } };
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request))
    return { status: 400, body: { Err: `vxgossip: ${method}: the body is not a JSON object` } };
  try {
    return { status: 200, body: await handler(request as PluginRequest) };
  } catch (err) {
    const message = `vxgossip: ${(err as Error).message}`;
    if (err instanceof BadPluginRequest) return { status: 400, body: { Err: message } };
    return { status: 200, body: method.startsWith('IpamDriver.') ? { Error: message } : { Err: message } };
  }
}

export class PluginServer {
  private readonly server: http.Server;

  private constructor(
    private readonly socket: string,
    handlers: PluginHandlers,
    private readonly log: Logger,
  ) {
    this.server = http.createServer((req, res) => void this.serve(handlers, req, res));
  }

  // Listens on DIR/vxgossip.sock (see listenOnUnixSocket).
  static async listen(dir: string, handlers: PluginHandlers, log: Logger): Promise<PluginServer> {
    const socket = path.join(dir, `${PLUGIN_NAME}.sock`);
    const plugin = new PluginServer(socket, handlers, log);
    await listenOnUnixSocket(plugin.server, socket);
    log.info('serving the Docker network and IPAM drivers', { socket });
    return plugin;
  }

  // The socket goes with the agent: Docker then fails at once, naming it, instead of timing out.
  // Docker keeps its connections open between requests: idle ones are closed at once, and a request
  // under way gets a moment to finish.
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([closed, grace]);
    this.server.closeAllConnections();
    await closed;
    fs.rmSync(this.socket, { force: true });
  }

  private async serve(handlers: PluginHandlers, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.url ?? '').replace(/^\//, '');
    const reply = (a: PluginAnswer) => {
      res.writeHead(a.status, { 'Content-Type': PLUGIN_CONTENT_TYPE });
      res.end(JSON.stringify(a.body));
    };
    if (req.method !== 'POST') return reply({ status: 405, body: { Err: 'vxgossip: plugin methods are POST' } });
    const body = await readBodyUpTo(req, MAX_REQUEST_BYTES);
    if (body === undefined)
      return reply({ status: 413, body: { Err: `vxgossip: ${method}: body over ${MAX_REQUEST_BYTES} bytes` } });
    const a = await answer(handlers, method, body.toString('utf8'));
    if (a.status !== 200 || 'Err' in a.body || 'Error' in a.body)
      this.log.warn('Docker request refused', { method, ...a.body });
    else this.log.debug('Docker request', { method });
    reply(a);
  }
}
