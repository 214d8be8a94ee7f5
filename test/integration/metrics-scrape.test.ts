import { strict as assert } from 'node:assert';
import { eventually } from '../../lab/eventually';
import { AGENT_METRICS_PORT, LabCluster } from '../../lab/lab-cluster';
import { LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import { VERSION } from '../../common/version';
import { httpGetIn } from '../helpers/http-in-namespace';
import { tearDownLab } from '../helpers/lab-teardown';
import { PROMTOOL, promtool } from '../helpers/promtool';
import { metricValue } from '../helpers/refusal-metrics';
import { requirePrograms, requireRoot } from '../helpers/require-root';

const SERVER_METRICS_PORT = 9745;

// What a real server and real agents expose, scraped over HTTP and checked by promtool, and an agent's
// readiness following a VNI it cannot realise (its device name taken by another kind of link).
describe('metrics and health of a real server and agents, checked by promtool (2 hosts)', function () {
  this.timeout(120_000);
  let lab: LabNetwork | undefined;
  let cluster: LabCluster;
  const dir = makeTempDir('metrics-scrape');
  tearDownLab(() => lab, dir);
  const h1 = () => cluster.hosts[0];
  const agentGet = (path: string) => httpGetIn(h1(), AGENT_METRICS_PORT, path);
  const serverGet = (path: string) => httpGetIn(cluster.ctrl, SERVER_METRICS_PORT, path);

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', ...PROMTOOL });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    cluster = await LabCluster.start(lab, dir, { serverArgs: ['--metrics', `127.0.0.1:${SERVER_METRICS_PORT}`] });
    cluster.ctl('vni', 'create', '42');
    await eventually(() =>
      assert.equal(metricValue(agentGet('/metrics').body, 'vxgossip_vni_ready', { vni: '42' }), 1),
    );
  });

  it("the server's scrape passes promtool check metrics and carries build_info and process_*", async () => {
    await eventually(() =>
      assert.equal(metricValue(serverGet('/metrics').body, 'vxgossip_agents', { state: 'connected' }), 2),
    );
    const { status, body } = serverGet('/metrics');
    assert.equal(status, 200);
    const checked = promtool(['check', 'metrics'], body);
    assert.equal(checked.output, '', body);
    assert.equal(checked.status, 0);
    assert.equal(metricValue(body, 'vxgossip_build_info', { version: VERSION, component: 'server' }), 1);
    assert.ok((metricValue(body, 'process_resident_memory_bytes') ?? 0) > 0);
    assert.ok((metricValue(body, 'process_open_fds') ?? 0) > 0);
    assert.equal(metricValue(body, 'vxgossip_vnis'), 1);
    assert.equal(metricValue(body, 'vxgossip_records'), undefined, 'renamed vxgossip_replicated_records');
    assert.deepEqual(serverGet('/healthz'), { status: 200, body: 'ok\n' });
    assert.equal(serverGet('/readyz').status, 200);
  });

  it("an agent's scrape passes promtool check metrics and carries build_info, process_* and per-VNI readiness", () => {
    const { status, body } = agentGet('/metrics');
    assert.equal(status, 200);
    const checked = promtool(['check', 'metrics'], body);
    assert.equal(checked.output, '', body);
    assert.equal(checked.status, 0);
    assert.equal(metricValue(body, 'vxgossip_build_info', { version: VERSION, component: 'agent' }), 1);
    assert.ok((metricValue(body, 'process_start_time_seconds') ?? 0) > 0);
    assert.equal(metricValue(body, 'vxgossip_fdb_frozen_macs', { vni: '42' }), 0);
    assert.ok(metricValue(body, 'vxgossip_gossip_records') !== undefined);
    assert.equal(agentGet('/readyz').status, 200);
  });

  it('a VNI the agent cannot realise makes it not ready, naming the VNI, and its metric 0; ready again once it can', async () => {
    h1().exec('ip', ['link', 'add', 'vxlan43', 'type', 'bridge']);
    cluster.ctl('vni', 'create', '43');
    await eventually(() => {
      const r = agentGet('/readyz');
      assert.equal(r.status, 503, r.body);
      const { ready, checks } = JSON.parse(r.body) as { ready: boolean; checks: Record<string, string> };
      assert.equal(ready, false);
      assert.match(checks.vnis, /^VNI 43 not realised: .*vxlan43 already exists as a bridge link/);
      assert.equal(checks.kernel, 'ok');
    });
    const body = agentGet('/metrics').body;
    assert.equal(metricValue(body, 'vxgossip_vni_ready', { vni: '43' }), 0);
    assert.equal(metricValue(body, 'vxgossip_vni_ready', { vni: '42' }), 1, 'the other VNI is unaffected');
    assert.equal(httpGetIn(cluster.hosts[1], AGENT_METRICS_PORT, '/readyz').status, 200, 'h2 realises VNI 43');

    h1().exec('ip', ['link', 'del', 'vxlan43']);
    cluster.ctl('vni', 'create', '44'); // a configuration change runs a pass at once
    await eventually(() => {
      assert.equal(agentGet('/readyz').status, 200);
      assert.equal(metricValue(agentGet('/metrics').body, 'vxgossip_vni_ready', { vni: '43' }), 1);
    }, 40_000);
  });
});
