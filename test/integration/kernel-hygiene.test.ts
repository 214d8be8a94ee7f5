import { strict as assert } from 'node:assert';
import { LabHost, LabNetwork } from '../../lab/network';
import { eventually } from '../../lab/eventually';
import { makeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { tearDownLab } from '../helpers/lab-teardown';
import { AGENT_METRICS_PORT, LabCluster } from '../../lab/lab-cluster';

const L3_DEVICE = 'vxl3-8472';
// VNI 50's routing table (node-agent/kernel/l3-domain.ts).
const TABLE_50 = '1000000050';

interface BridgeFdbJson {
  mac: string;
  ifname?: string;
  dst?: string;
  master?: string;
  flags?: string[];
}

// What the agent leaves in the kernel and what it fights over: a detached endpoint's bridge entry
// goes, a bridge deleted under attached endpoints comes back with them, a MAC another host announces
// is not attached twice, and an operator's route or neighbour is never replaced.
describe('kernel hygiene: nothing left behind, nothing fought over (2 hosts, real vxlan)', function () {
  this.timeout(240_000);
  let lab: LabNetwork;
  let cluster: LabCluster;
  let h1: LabHost;
  let h2: LabHost;
  const dir = makeTempDir('hygiene');

  const ctlRun = (...args: string[]) => cluster.ctlRun(...args);
  const ctl = (...args: string[]) => cluster.ctl(...args);
  const attachArgs = (node: string, vni: number, netns: string, ip: string, mac?: string) => [
    'endpoint',
    'attach',
    '--node',
    node,
    '--vni',
    String(vni),
    '--netns',
    netns,
    '--ip',
    ip,
    ...(mac ? ['--mac', mac] : []),
  ];
  const attach = (h: LabHost, vni: number, netns: string, ip: string, mac?: string) =>
    JSON.parse(ctl('-o', 'json', ...attachArgs(h.name, vni, netns, ip, mac))) as { mac: string };
  const fdbFor = (h: LabHost, mac: string) =>
    (JSON.parse(h.exec('bridge', ['-j', 'fdb', 'show', 'br', 'br42']) || '[]') as BridgeFdbJson[]).filter(
      (e) => e.mac === mac,
    );
  // Log lines arrive through a pipe, a moment after what they report: a test waits for a later line
  // (waitForLog, from where it stood) before it counts earlier ones.
  const agent = (h: LabHost) => cluster.agent(h);
  const logged = (h: LabHost, match: (r: Record<string, unknown>) => boolean) =>
    agent(h)
      .logRecords()
      .filter((r) => match(r));
  const metric = (h: LabHost, name: string) => {
    const text = h.exec(process.execPath, [
      '-e',
      `fetch('http://127.0.0.1:${AGENT_METRICS_PORT}/metrics').then(async (r) => process.stdout.write(await r.text()))`,
    ]);
    return Number(new RegExp(`^${name.replace(/[{}".]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  const ping = (netns: string, ip: string) => lab.execIn(netns, 'ping', ['-c', '1', '-W', '1', ip]);

  // AttachEndpoint from a plain gRPC client inside the controller's namespace: the status it ends with.
  function rawAttach(request: object): { code: number; details: string } {
    const script = [
      `const grpc = require(${JSON.stringify(require.resolve('@grpc/grpc-js'))});`,
      `const { v1 } = require(${JSON.stringify(require.resolve('../../common/proto'))});`,
      `const { operatorCredentials } = require(${JSON.stringify(require.resolve('../../lab/credentials'))});`,
      `const c = new (v1().EndpointService)(${JSON.stringify(cluster.serverAddr)}, operatorCredentials(${JSON.stringify(cluster.serverDir)}));`,
      `c.attachEndpoint(${JSON.stringify(request)}, { deadline: Date.now() + 10000 }, (err) => {`,
      '  console.log(JSON.stringify({ code: err ? err.code : grpc.status.OK, details: err ? err.details : "" }));',
      '  c.close();',
      '});',
    ].join('\n');
    return JSON.parse(cluster.ctrl.exec(process.execPath, ['-e', script])) as { code: number; details: string };
  }

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2', ping: 'iputils-ping' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    cluster = await LabCluster.start(lab, dir);
    [h1, h2] = cluster.hosts;
    ctl('vni', 'create', '42');
    ctl('vni', 'create', '50', '--mode', 'l3', '--subnet', '10.50.0.0/24');
    for (const h of [h1, h2])
      await eventually(() => assert.ok(h.link('br42') && h.link(L3_DEVICE), `${h.name} realised both VNIs`), 20_000);
  });

  tearDownLab(() => lab, dir);

  it("removes a detached remote endpoint's bridge entry, and says so once", async () => {
    const mac = '02:00:5e:00:01:01';
    const netns = lab.namespace('detached');
    attach(h1, 42, netns, '10.42.0.1/24', mac);
    await eventually(() => {
      const entries = fdbFor(h2, mac);
      assert.ok(
        entries.some((e) => e.flags?.includes('extern_learn') && e.master === 'br42'),
        `h2's bridge points ${mac} at its vxlan port: ${JSON.stringify(entries)}`,
      );
    }, 10_000);
    ctl('endpoint', 'detach', '--node', h1.name, '--vni', '42', '--netns', netns);
    await eventually(() => assert.deepEqual(fdbFor(h2, mac), [], `h2 still holds ${mac}`), 10_000);
    const removals = () => logged(h2, (r) => r.msg === 'fdb changes written' && Number(r.bridgeRemoved) > 0);
    await eventually(() => assert.equal(removals().length, 1, 'the removal is logged'), 5_000);
    // More passes on h2 (a new endpoint to program): the removal is not logged again.
    const seen = agent(h2).logRecords().length;
    attach(h1, 42, lab.namespace('later'), '10.42.0.2/24', '02:00:5e:00:01:02');
    await agent(h2).waitForLog((r) => r.msg === 'fdb changes written' && Number(r.bridgeAdded) > 0, 10_000, seen);
    assert.equal(removals().length, 1, `bridge removals logged: ${JSON.stringify(removals())}`);
  });

  it('puts the attached veths back into a bridge recreated after it was deleted', async () => {
    const [a, b] = [lab.namespace('replug-a'), lab.namespace('replug-b')];
    attach(h1, 42, a, '10.42.0.11/24');
    attach(h2, 42, b, '10.42.0.12/24');
    await eventually(() => assert.equal(ping(a, '10.42.0.12').status, 0, 'a reaches b'), 20_000);
    h2.exec('ip', ['link', 'del', 'br42']);
    await eventually(
      () => {
        const ports = JSON.parse(h2.exec('ip', ['-j', 'link', 'show', 'master', 'br42']) || '[]') as Array<{
          ifname: string;
          ifalias?: string;
        }>;
        assert.ok(
          ports.some((p) => p.ifalias?.startsWith('vxgossip:ep ')),
          `no attached veth in the new br42: ${JSON.stringify(ports)}`,
        );
        const r = ping(a, '10.42.0.12');
        assert.equal(r.status, 0, `a -> b after br42 was recreated: ${r.stdout}`);
      },
      30_000,
      500,
    );
  });

  it('refuses to attach a MAC another host announces, naming that host (ctl and raw gRPC)', async () => {
    const mac = '02:00:5e:00:02:01';
    const owned = lab.namespace('owned');
    attach(h1, 42, owned, '10.42.0.21/24', mac);
    await eventually(() => {
      const served = JSON.parse(ctl('-o', 'json', 'fdb', 'show', '--vni', '42', '--mac', mac, '--no-flood')) as Array<{
        node: string;
      }>;
      assert.deepEqual(
        served.map((e) => e.node),
        ['h1'],
      );
      assert.ok(fdbFor(h2, mac).some((e) => e.dst === h1.ip));
    }, 10_000);
    const second = lab.namespace('second');
    const expected = new RegExp(`MAC ${mac} is already announced in VNI 42 by host h1; detach it there first`);
    const viaCtl = ctlRun(...attachArgs(h2.name, 42, second, '10.42.0.22/24', mac));
    assert.equal(viaCtl.status, 1, viaCtl.stdout);
    assert.match(viaCtl.stderr, /already exists: /);
    assert.match(viaCtl.stderr, expected);
    const viaGrpc = rawAttach({ node: 'h2', vni: 42, netns: second, ip: '10.42.0.22/24', mac });
    assert.equal(viaGrpc.code, 6, `ALREADY_EXISTS, not ${JSON.stringify(viaGrpc)}`);
    assert.match(viaGrpc.details, expected);
    assert.ok(viaGrpc.details.startsWith('MAC '), `the server refused it, not h2's agent: ${viaGrpc.details}`);
    assert.equal(lab.execIn(second, 'ip', ['link', 'show', 'eth0']).status, 1, 'nothing was created on h2');
    // The same attach again on the host that has it is no conflict.
    assert.equal(attach(h1, 42, owned, '10.42.0.21/24', mac).mac, mac);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(
      fdbFor(h2, mac).some((e) => e.dst === h1.ip),
      'h2 still forwards the MAC to h1: no flapping',
    );
  });

  it("never replaces an operator's route or neighbour: the conflict is logged once, counted and shown", async () => {
    h1.exec('ip', ['route', 'add', 'blackhole', '10.50.0.2/32', 'table', TABLE_50, 'proto', 'static']);
    h1.exec('ip', ['neigh', 'add', '10.50.0.3', 'lladdr', '02:99:00:00:00:03', 'dev', L3_DEVICE, 'nud', 'permanent']);
    attach(h2, 50, lab.namespace('l3a'), '10.50.0.2/24');
    attach(h2, 50, lab.namespace('l3b'), '10.50.0.3/24');
    // h1 programmed what is not in conflict: the route to the second endpoint.
    const routeOf = (dst: string) => h1.exec('ip', ['route', 'show', 'table', TABLE_50, dst]);
    await eventually(() => assert.match(routeOf('10.50.0.3/32'), /encap ip id 50/), 10_000);
    const route = routeOf('10.50.0.2/32');
    assert.match(route, /^blackhole 10\.50\.0\.2 proto static/, `h1's route: ${route}`);
    const neigh = h1.exec('ip', ['neigh', 'show', '10.50.0.3', 'dev', L3_DEVICE]);
    assert.match(neigh, /lladdr 02:99:00:00:00:03 PERMANENT/, `h1's neighbour: ${neigh}`);
    await eventually(() => {
      assert.equal(metric(h1, 'vxgossip_kernel_conflicts{kind="route"}'), 1);
      assert.equal(metric(h1, 'vxgossip_kernel_conflicts{kind="neigh"}'), 1);
      // A host holding entries that are not ours is not in sync: status says so, and exits 3.
      const r = ctlRun('-o', 'json', 'status');
      assert.equal(r.status, 3, r.stderr);
      const status = JSON.parse(r.stdout) as {
        hosts: Array<{ node: string; inSync: boolean; conflicts: Array<{ kind: string }> }>;
      };
      const host = status.hosts.find((h) => h.node === 'h1')!;
      assert.deepEqual(
        [...host.conflicts].sort((x, y) => x.kind.localeCompare(y.kind)),
        [
          { vni: 50, kind: 'neigh', address: '10.50.0.3', found: 'nud permanent' },
          { vni: 50, kind: 'route', address: '10.50.0.2/32', found: 'proto static' },
        ],
      );
      assert.equal(host.inSync, false, 'a host with a conflict is not in sync');
    }, 10_000);
    // Another pass on h1 (one more endpoint to program): the conflicts are not logged again.
    const seen = agent(h1).logRecords().length;
    attach(h2, 50, lab.namespace('l3c'), '10.50.0.4/24');
    await agent(h1).waitForLog((r) => r.msg === 'fdb entries', 10_000, seen);
    const reported = logged(h1, (r) => r.msg === 'kernel entry not ours: left in place, not programmed');
    assert.deepEqual(reported.map((r) => `${String(r.kind)} ${String(r.address)}`).sort(), [
      'neigh 10.50.0.3',
      'route 10.50.0.2/32',
    ]);
    // The operator removes theirs: ours goes in at the next pass, and the conflict is over.
    h1.exec('ip', ['route', 'del', 'blackhole', '10.50.0.2/32', 'table', TABLE_50]);
    h1.exec('ip', ['neigh', 'del', '10.50.0.3', 'dev', L3_DEVICE]);
    attach(h2, 50, lab.namespace('l3d'), '10.50.0.5/24');
    await eventually(() => {
      assert.match(routeOf('10.50.0.2/32'), /encap ip id 50/);
      assert.equal(metric(h1, 'vxgossip_kernel_conflicts{kind="route"}'), 0);
      assert.equal(metric(h1, 'vxgossip_kernel_conflicts{kind="neigh"}'), 0);
    }, 10_000);
  });
});
