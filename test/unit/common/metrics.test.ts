import { strict as assert } from 'node:assert';
import { Metrics, setAll, setTotals } from '../../../common/metrics';
import { VERSION } from '../../../common/version';
import { sampleAgentMetrics, sampleServerMetrics } from '../../helpers/daemon-metrics';
import { PROMTOOL, metricNames, promtool } from '../../helpers/promtool';
import { requirePrograms } from '../../helpers/require-root';

describe('metrics registry (prom-client)', () => {
  it('exposes build_info with the version and the component, and the process metrics', async () => {
    const text = await new Metrics('server').render();
    assert.match(
      text,
      new RegExp(`^vxgossip_build_info\\{version="${VERSION}",component="server",nodejs="v[^"]+"\\} 1$`, 'm'),
    );
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_open_fds',
      'process_max_fds',
      'process_start_time_seconds',
    ])
      assert.ok(metricNames(text).has(name), `${name} missing`);
    assert.doesNotMatch(text, /^# TYPE \S+_total (gauge|histogram)/m, 'only counters end in _total');
  });

  it('sets a labelled gauge from scratch: a series that is gone disappears', async () => {
    const m = new Metrics('agent');
    const g = m.gauge('test_per_vni', 'test', ['vni']);
    setAll(g, 'vni', [
      [42, 1],
      [43, 0],
    ]);
    setAll(g, 'vni', [[42, 1]]);
    const text = await m.render();
    assert.match(text, /^test_per_vni\{vni="42"\} 1$/m);
    assert.doesNotMatch(text, /vni="43"/);
  });

  it('exposes running totals kept elsewhere as counters, read at each scrape', async () => {
    const m = new Metrics('agent');
    const c = m.counter('test_things_total', 'test', ['kind']);
    let sent = 3;
    m.onCollect(() => setTotals(c, 'kind', [['sent', sent]]));
    assert.match(await m.render(), /^test_things_total\{kind="sent"\} 3$/m);
    sent = 5;
    assert.match(await m.render(), /^test_things_total\{kind="sent"\} 5$/m);
    assert.match(await m.render(), /^# TYPE test_things_total counter$/m);
  });

  it("exposes an agent's per-VNI readiness and frozen MACs per VNI, and no vxgossip_records", async () => {
    const text = await sampleAgentMetrics().metrics.render();
    assert.match(text, /^vxgossip_vni_ready\{vni="42"\} 1$/m);
    assert.match(text, /^vxgossip_vni_ready\{vni="43"\} 0$/m);
    assert.match(text, /^vxgossip_fdb_frozen_macs\{vni="42"\} 1$/m);
    assert.match(text, /^vxgossip_fdb_frozen_macs\{vni="43"\} 0$/m);
    assert.match(text, /^vxgossip_gossip_records 20$/m);
    assert.match(text, /^vxgossip_vtep_probes_total\{kind="sent"\} 5$/m);
    assert.match(text, /^vxgossip_kernel_conflicts\{kind="route"\} 1$/m);
    assert.match(text, /^vxgossip_kernel_changes_total\{kind="remove"\} 0$/m, 'kinds exposed before the first write');
    assert.ok(!metricNames(text).has('vxgossip_records'), 'the agent and the server meant different things by it');
  });

  it('shows which of its server replicas an agent is connected to', async () => {
    const text = await sampleAgentMetrics().metrics.render();
    assert.match(text, /^vxgossip_server_connected\{server="198\.18\.0\.1:50051"\} 0$/m);
    assert.match(text, /^vxgossip_server_connected\{server="198\.18\.0\.2:50051"\} 1$/m);
  });

  it("exposes the server's replicated records and its counts since start as counters", async () => {
    const text = await sampleServerMetrics().render();
    assert.match(text, /^vxgossip_replicated_records 40$/m);
    assert.match(text, /^vxgossip_records_refused_total\{reason="spoofed"\} 1$/m);
    assert.match(text, /^vxgossip_database_write_failures_total 2$/m);
    assert.match(text, /^vxgossip_agents\{state="disconnected"\} 1$/m);
    assert.match(text, /^vxgossip_nodes\{state="agent-down"\} 1$/m);
    assert.match(text, /^vxgossip_auth_refused_total\{reason="revoked"\} 0$/m);
    assert.match(text, /^vxgossip_build_info\{[^}]*component="server"/m);
    assert.ok(!metricNames(text).has('vxgossip_records'));
  });

  describe('promtool check metrics', () => {
    before(function () {
      requirePrograms(this, PROMTOOL);
    });

    for (const [daemon, render] of [
      ['agent', () => sampleAgentMetrics().metrics.render()],
      ['server', () => sampleServerMetrics().render()],
    ] as const)
      it(`finds nothing against the conventions in what the ${daemon} exposes`, async () => {
        const r = promtool(['check', 'metrics'], await render());
        assert.equal(r.output, '');
        assert.equal(r.status, 0);
      });

    it('names what breaks the conventions (a gauge ending in _total)', async () => {
      const m = new Metrics('agent');
      m.gauge('vxgossip_bad_total', 'a gauge named like a counter').set(1);
      const r = promtool(['check', 'metrics'], await m.render());
      assert.notEqual(r.status, 0);
      assert.match(r.output, /vxgossip_bad_total/);
    });
  });
});
