import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../../common/paths';
import { sampleAgentMetrics, sampleServerMetrics } from '../../helpers/daemon-metrics';
import { PROMTOOL, metricNames, promtool } from '../../helpers/promtool';
import { requirePrograms } from '../../helpers/require-root';

const prometheusDir = path.join(repoRoot, 'deploy', 'prometheus');
const dashboardFile = path.join(repoRoot, 'deploy', 'grafana', 'vxgossip-dashboard.json');

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = () => JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as { uid: string; panels: Panel[] };
const alertExpressions = () =>
  [...fs.readFileSync(path.join(prometheusDir, 'vxgossip-alerts.yml'), 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map(
    (m) => m[1],
  );
// The metric names an expression reads: ours and the process ones (not PromQL functions or labels).
const namesIn = (expr: string) => expr.match(/\b(?:vxgossip|process)_[a-z_]+\b/g) ?? [];

describe('monitoring files in deploy/', () => {
  it('the dashboard and the alert rules read only metrics the daemons expose', async () => {
    const exposed = new Set([
      ...metricNames(await sampleAgentMetrics().metrics.render()),
      ...metricNames(await sampleServerMetrics().render()),
    ]);
    const queries = dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => `${p.title}: ${t.expr}`));
    assert.ok(queries.length > 20, 'the dashboard has its panels');
    for (const q of [...queries, ...alertExpressions()])
      for (const name of namesIn(q)) assert.ok(exposed.has(name), `${name} is not exposed (in ${q})`);
  });

  it('the dashboard shows per-VNI readiness, frozen MACs, versions and the processes', () => {
    const exprs = dashboard()
      .panels.flatMap((p) => p.targets ?? [])
      .map((t) => t.expr)
      .join('\n');
    for (const name of [
      'vxgossip_vni_ready',
      'vxgossip_fdb_frozen_macs',
      'vxgossip_build_info',
      'process_cpu_seconds_total',
    ])
      assert.ok(exprs.includes(name), `no panel reads ${name}`);
  });

  describe('promtool', () => {
    before(function () {
      requirePrograms(this, PROMTOOL);
    });

    it('check rules accepts the alert rules', () => {
      const r = promtool(['check', 'rules', 'vxgossip-alerts.yml'], undefined, prometheusDir);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /SUCCESS: \d+ rules found/);
    });

    it('test rules: the alerts fire as their tests say (VNI not realised, MAC frozen, database)', () => {
      const r = promtool(['test', 'rules', 'vxgossip-alerts.test.yml'], undefined, prometheusDir);
      assert.equal(r.status, 0, r.output);
    });
  });
});
