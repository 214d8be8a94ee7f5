import * as http from 'node:http';
import { CNI_CODES, CniError, type CniErrorBody } from '../common/cni/protocol';

// The agent is not there: no socket, or no one listening on it.
export class AgentUnreachable extends Error {
  override readonly name = 'AgentUnreachable';
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES']);
const MAX_ANSWER_BYTES = 1024 * 1024;
// An ADD waits for the agent's reconcile pass; anything longer is an agent in trouble.
const TIMEOUT_MS = 60_000;

export interface AgentApi {
  call<T>(path: string, body: unknown): Promise<T>;
}

// One request to the agent's CNI socket; the agent answers the operation's JSON or {error}.
export function agentClient(socketPath: string): AgentApi {
  return {
    call: <T>(path: string, body: unknown) =>
      new Promise<T>((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = http.request(
          { socketPath, path, method: 'POST', headers: { 'content-type': 'application/json' }, timeout: TIMEOUT_MS },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size <= MAX_ANSWER_BYTES) chunks.push(c);
            });
            res.on('end', () => {
              try {
                const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: CniErrorBody };
                if (answer.error) reject(new CniError(answer.error.code, answer.error.msg, answer.error.details));
                else resolve(answer as T);
              } catch {
                reject(
                  new CniError(
                    CNI_CODES.agentFailed,
                    `the agent at ${socketPath} answered ${res.statusCode} with no JSON`,
                  ),
                );
              }
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code && UNREACHABLE.has(err.code))
            reject(new AgentUnreachable(`the vxgossip agent is not reachable at ${socketPath} (${err.code})`));
          else reject(new CniError(CNI_CODES.ioFailure, `talking to the agent at ${socketPath}: ${err.message}`));
        });
        req.end(payload);
      }),
  };
}
