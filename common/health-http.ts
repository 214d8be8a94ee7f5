import * as http from 'node:http';
import type { Metrics } from './metrics';

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface HealthServer {
  address: string;
  close(): void;
}

// Serves /metrics, /healthz (the process answers) and /readyz (200 when ready, 503 otherwise, with
// the checks as JSON so the reason is named); resolves with the bound address.
export function serveHealth(
  metrics: Metrics,
  host: string,
  port: number,
  readiness: () => Readiness,
): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end('only GET and HEAD are served\n');
    } else if (req.url === '/metrics') {
      metrics.render().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (req.url === '/readyz') {
      const r = readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address() as { port: number };
      resolve({ address: `${host}:${a.port}`, close: () => server.close() });
    });
  });
}
