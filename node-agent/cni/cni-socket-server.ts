import * as http from 'node:http';
import type { Logger } from '../../common/log';
import { listenOnUnixSocket, readBodyUpTo } from '../../common/unix-socket-server';
import { CNI_CODES, CniError, MAX_REQUEST_BYTES, PATHS } from '../../common/cni/protocol';
import type { CniAttachments } from './cni-attachments';
import { addRequestOf, attachmentKeyOf, checkRequestOf, gcRequestOf } from './cni-requests';

type Handler = (body: unknown) => Promise<unknown>;

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const body = await readBodyUpTo(req, MAX_REQUEST_BYTES);
  if (body === undefined)
    throw new CniError(CNI_CODES.decodingFailure, `the request is larger than ${MAX_REQUEST_BYTES} bytes`);
  try {
    return body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as unknown);
  } catch (err) {
    throw new CniError(CNI_CODES.decodingFailure, `the request is not JSON: ${(err as Error).message}`);
  }
}

// The agent's CNI socket: HTTP over a unix socket only root may open (0600), one operation at a time
// (an ADD and a DEL of one container never interleave). The answer is the operation's JSON, or
// {error: {code, msg}} with the CNI code the plugin hands to the runtime.
export class CniSocketServer {
  private readonly server: http.Server;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly routes: Record<string, Handler>;

  constructor(
    attachments: CniAttachments,
    private readonly log: Logger,
  ) {
    this.routes = {
      [PATHS.add]: (b) => attachments.add(addRequestOf(b)),
      [PATHS.del]: async (b) => {
        await attachments.del(attachmentKeyOf(b));
        return {};
      },
      [PATHS.check]: async (b) => {
        await attachments.check(checkRequestOf(b));
        return {};
      },
      [PATHS.gc]: (b) => attachments.gc(gcRequestOf(b)),
      [PATHS.status]: async () => attachments.status(),
    };
    this.server = http.createServer((req, res) => void this.serve(req, res));
  }

  async listen(socket: string): Promise<void> {
    await listenOnUnixSocket(this.server, socket);
    this.log.info('serving the CNI plugin', { socket });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const route = this.routes[req.url ?? ''];
    let status = 200;
    let answer: unknown;
    try {
      if (!route || req.method !== 'POST')
        throw new CniError(CNI_CODES.agentFailed, `no such operation: ${req.method} ${req.url}; update the plugin`);
      const body = await readBody(req);
      answer = await this.serialised(() => route(body));
    } catch (err) {
      const error =
        err instanceof CniError
          ? err
          : new CniError(CNI_CODES.agentFailed, `the agent failed: ${(err as Error).message}`);
      this.log.warn('CNI request failed', { path: req.url, code: error.code, error: error.message });
      status = 422;
      answer = { error: error.body() };
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  }

  private serialised<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.queue.then(operation, operation);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
