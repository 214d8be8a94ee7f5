import { strict as assert } from 'node:assert';
import { eventually } from '../../lab/eventually';
import { LabCluster } from '../../lab/lab-cluster';
import { LabHost, LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import { tearDownLab } from '../helpers/lab-teardown';
import { requirePrograms, requireRoot } from '../helpers/require-root';

const MAC_H1 = '02:00:5e:00:17:01';
const MAC_H2 = '02:00:5e:00:17:02';
const MAC_L3 = '02:00:5e:00:17:03';
const WRONG_VTEP = '198.18.255.254';

interface KernelEntryJson {
  vni: number;
  kind: string;
  mac: string | null;
  vtep: string | null;
  ip: string | null;
}
interface DiffJson {
  hosts: string[];
  differences: Array<{
    node: string;
    vni: number;
    kind: string;
    key: string | null;
    problem: string;
    server: string | null;
    kernel: string | null;
  }>;
  unanswered: Record<string, string>;
}
interface TraceJson {
  winner: { node: string; vtep: string; frozen: boolean } | null;
  claims: Array<{ node: string; vtep: string }>;
  hosts: Array<{ node: string; vteps: string[]; agrees: boolean }>;
}

// The truth on every host, through each host's agent: `ctl fdb show --on` against iproute2's view of
// the same namespace, `ctl fdb diff` finding an entry changed by hand before the agent repairs it and
// a host whose agent is down, `ctl trace` naming the winner and the VTEP each kernel uses.
describe('truth per host: fdb show --on, fdb diff, trace (3 hosts, real kernel)', function () {
  this.timeout(180_000);
  let lab: LabNetwork | undefined;
  let cluster: LabCluster;
  let h1: LabHost;
  let h2: LabHost;
  let h3: LabHost;
  const dir = makeTempDir('host-truth');

  const diff = (...args: string[]) => {
    const r = cluster.ctlRun('-o', 'json', 'fdb', 'diff', ...args);
    return { status: r.status, stderr: r.stderr, json: JSON.parse(r.stdout) as DiffJson };
  };
  const bridgeFdb = (h: LabHost, dev: string) =>
    JSON.parse(h.exec('bridge', ['-j', 'fdb', 'show', 'dev', dev]) || '[]') as Array<{
      mac: string;
      dst?: string;
      flags?: string[];
      master?: string;
    }>;

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3']);
    cluster = await LabCluster.start(lab, dir);
    [h1, h2, h3] = cluster.hosts;
    cluster.ctl('vni', 'create', '42', '--subnet', '10.42.0.0/24');
    cluster.ctl('vni', 'create', '100', '--mode', 'l3', '--subnet', '10.100.0.0/24');
    const attach = (h: LabHost, vni: number, name: string, ip: string, mac: string) =>
      cluster.ctl(
        ...['endpoint', 'attach', '--node', h.name, '--vni', String(vni)],
        ...['--netns', lab!.namespace(name), '--ip', ip, '--mac', mac],
      );
    attach(h1, 42, 'w1', '10.42.0.11/24', MAC_H1);
    attach(h2, 42, 'w2', '10.42.0.12/24', MAC_H2);
    attach(h1, 100, 'w3', '10.100.0.11/24', MAC_L3);
    // Converged: every host's kernel holds what the server's view says.
    await eventually(() => {
      const d = diff();
      assert.equal(d.status, 0, JSON.stringify(d.json));
    }, 30_000);
  });

  tearDownLab(() => lab, dir);

  it('fdb diff of a converged cluster compares every host and exits 0', () => {
    const d = diff();
    assert.deepEqual(d.json.hosts, ['h1', 'h2', 'h3']);
    assert.deepEqual(d.json.differences, []);
    assert.deepEqual(d.json.unanswered, {});
    assert.match(cluster.ctl('fdb', 'diff'), /no differences on 3 host\(s\): h1, h2, h3/);
  });

  it('fdb show --on matches what bridge fdb show reads in that host', () => {
    const shown = JSON.parse(cluster.ctl('-o', 'json', 'fdb', 'show', '--on', 'h3', '--vni', '42')) as {
      node: string;
      entries: KernelEntryJson[];
      vnis: number[];
    };
    assert.equal(shown.node, 'h3');
    assert.deepEqual(shown.vnis, [42]);
    const remote = bridgeFdb(h3, 'vxlan42').filter((e) => e.dst !== undefined);
    const vxlan = shown.entries.filter((e) => e.kind === 'vxlan');
    assert.deepEqual(vxlan.map((e) => `${e.mac}>${e.vtep}`).sort(), remote.map((e) => `${e.mac}>${e.dst}`).sort());
    // Both endpoints are remote on h3, and both other hosts are in its flood list.
    assert.ok(vxlan.some((e) => e.mac === MAC_H1 && e.vtep === h1.ip));
    assert.ok(vxlan.some((e) => e.mac === MAC_H2 && e.vtep === h2.ip));
    const floods = vxlan.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.vtep);
    assert.deepEqual(floods.sort(), [h1.ip, h2.ip].sort());
    const externLearned = bridgeFdb(h3, 'vxlan42').filter((e) => e.master && e.flags?.includes('extern_learn'));
    assert.deepEqual(
      shown.entries
        .filter((e) => e.kind === 'bridge')
        .map((e) => e.mac)
        .sort(),
      externLearned.map((e) => e.mac).sort(),
    );
    const neighbours = shown.entries.filter((e) => e.kind === 'neighbour').map((e) => `${e.ip}>${e.mac}`);
    assert.deepEqual(neighbours.sort(), [`10.42.0.11>${MAC_H1}`, `10.42.0.12>${MAC_H2}`]);
    // The L3 VNI: h1's endpoint is a route to h1's VTEP in VNI 100's table.
    const l3 = JSON.parse(cluster.ctl('-o', 'json', 'fdb', 'show', '--on', 'h3', '--vni', '100')) as {
      entries: KernelEntryJson[];
    };
    assert.deepEqual(
      l3.entries.map((e) => [e.kind, e.ip, e.vtep]),
      [['route', '10.100.0.11', h1.ip]],
    );
  });

  it('fdb diff names an entry changed by hand, with both VTEPs, and exits 1 until the agent repairs it', async () => {
    // A replace notifies as a new entry, which the agent does not chase (only deletions of what it
    // owns are repaired at once): the change stands until its next pass.
    h2.exec('bridge', ['fdb', 'replace', MAC_H1, 'dev', 'vxlan42', 'dst', WRONG_VTEP, 'self', 'permanent']);
    const d = diff('--vni', '42');
    assert.equal(d.status, 1, d.stderr);
    assert.deepEqual(d.json.differences, [
      { node: 'h2', vni: 42, kind: 'vxlan', key: MAC_H1, problem: 'different', server: h1.ip, kernel: WRONG_VTEP },
    ]);
    assert.match(d.stderr, /1 difference\(s\) on 1 host\(s\), 0 host\(s\) did not answer/);
    const table = cluster.ctlRun('fdb', 'diff');
    assert.equal(table.status, 1);
    assert.match(table.stdout, new RegExp(`h2 +42 +vxlan +${MAC_H1} +different +${h1.ip} +${WRONG_VTEP}`));
    // The agent's periodic pass puts it back, and the diff is clean again.
    await eventually(() => assert.equal(diff().status, 0), 45_000, 500);
  });

  it('trace names the claimants, the winner and the VTEP each host kernel uses', () => {
    const t = JSON.parse(cluster.ctl('-o', 'json', 'trace', '--vni', '42', '--mac', MAC_H1)) as TraceJson;
    assert.deepEqual([t.winner?.node, t.winner?.vtep, t.winner?.frozen], ['h1', h1.ip, false]);
    assert.deepEqual(
      t.claims.map((c) => [c.node, c.vtep]),
      [['h1', h1.ip]],
    );
    const byHost = Object.fromEntries(t.hosts.map((h) => [h.node, h]));
    assert.deepEqual(byHost.h2, { node: 'h2', vteps: [h1.ip], agrees: true });
    assert.deepEqual(byHost.h3, { node: 'h3', vteps: [h1.ip], agrees: true });
    assert.equal(byHost.h1.agrees, true, JSON.stringify(byHost.h1));
    assert.ok(byHost.h1.vteps.every((v) => v === 'local'));
    const table = cluster.ctl('trace', '--vni', '42', '--mac', MAC_H1);
    assert.ok(table.includes(`winner h1 (VTEP ${h1.ip}, sequence `), table);
    // L3: the VTEP each host routes the claim's address to.
    const l3 = JSON.parse(cluster.ctl('-o', 'json', 'trace', '--vni', '100', '--mac', MAC_L3)) as TraceJson;
    assert.equal(l3.winner?.node, 'h1');
    assert.deepEqual(
      l3.hosts.filter((h) => h.node !== 'h1').map((h) => [h.node, h.vteps]),
      [
        ['h2', [h1.ip]],
        ['h3', [h1.ip]],
      ],
    );
  });

  it('fdb diff names a host whose agent is down and exits 1', async () => {
    // Killed, not stopped: a graceful stop leaves the cluster, and a host that left is not compared.
    await cluster.agent(h3).stop('SIGKILL');
    try {
      await eventually(() => {
        const d = diff();
        assert.equal(d.status, 1);
        assert.ok(d.json.unanswered.h3, JSON.stringify(d.json));
      }, 15_000);
      const table = cluster.ctlRun('fdb', 'diff');
      assert.match(table.stdout, /did not answer:\n {2}h3: /);
      assert.match(table.stderr, /1 host\(s\) did not answer/);
    } finally {
      cluster.startAgent(h3);
    }
  });
});
