import { strict as assert } from 'node:assert';
import { type HealthServer, type Readiness, serveHealth } from '../../../common/health-http';
import { Metrics } from '../../../common/metrics';

describe('health and metrics over HTTP', () => {
  let served: HealthServer;
  let state: Readiness;
  const get = async (path: string, method = 'GET') => {
    const res = await fetch(`http://${served.address}${path}`, { method });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };

  before(async () => {
    state = { ready: true, checks: { database: 'ok' } };
    served = await serveHealth(new Metrics('server'), '127.0.0.1', 0, () => state);
  });
  after(() => served.close());

  it('serves /metrics in the Prometheus text format', async () => {
    const r = await get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^vxgossip_build_info\{/m);
  });

  it('answers /healthz while the process runs, ready or not', async () => {
    state = { ready: false, checks: { database: 'reopening' } };
    assert.deepEqual(await get('/healthz'), { status: 200, type: 'text/plain', body: 'ok\n' });
  });

  it('answers /readyz 503 naming the check that fails, 200 when ready', async () => {
    state = { ready: false, checks: { database: 'write failed: ENOSPC' } };
    const r = await get('/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), state);
    state = { ready: true, checks: { database: 'ok' } };
    assert.equal((await get('/readyz')).status, 200);
  });

  it('names the paths it serves for anything else, and serves only GET and HEAD', async () => {
    const r = await get('/');
    assert.equal(r.status, 404);
    assert.match(r.body, /try \/metrics, \/healthz or \/readyz/);
    assert.equal((await get('/metrics', 'POST')).status, 405);
  });
});
