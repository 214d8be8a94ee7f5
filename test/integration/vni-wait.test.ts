import { strict as assert } from 'node:assert';
import { eventually } from '../../lab/eventually';
import { LabCluster } from '../../lab/lab-cluster';
import { LabHost, LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import { tearDownLab } from '../helpers/lab-teardown';
import { requirePrograms, requireRoot } from '../helpers/require-root';

// `ctl vni create|delete --wait` against agents on three hosts: it returns only once every live host's
// kernel has the change, fails naming a host whose agent is stopped (frozen: still connected, never
// applying), and does not wait for one gossip has declared agent-down.
describe('ctl vni --wait (3 hosts, real devices)', function () {
  this.timeout(180_000);
  let lab: LabNetwork | undefined;
  let cluster: LabCluster;
  let hosts: LabHost[];
  const dir = makeTempDir('vni-wait');
  tearDownLab(() => lab, dir);

  const hasVxlan = (h: LabHost, vni: number) => h.link(`vxlan${vni}`) !== undefined;
  const nodeState = (name: string) =>
    (JSON.parse(cluster.ctl('-o', 'json', 'node', 'list')) as Array<{ name: string; state: string }>).find(
      (n) => n.name === name,
    )?.state;

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3']);
    cluster = await LabCluster.start(lab, dir);
    hosts = cluster.hosts;
  });

  it('vni create --wait returns only once vxlan<VNI> exists on every host; delete --wait once it is gone', () => {
    // Within the 30 s a lab command may take.
    const created = cluster.ctlRun('vni', 'create', '901', '--wait=20s');
    // Read at once, not eventually: the wait is the guarantee under test.
    const present = hosts.filter((h) => hasVxlan(h, 901)).map((h) => h.name);
    assert.equal(created.status, 0, created.stderr);
    assert.deepEqual(present, ['h1', 'h2', 'h3']);
    assert.match(created.stdout, /\nrealised on every live host: h1, h2, h3\n$/);

    const deleted = cluster.ctlRun('vni', 'delete', '901', '--wait');
    const left = hosts.filter((h) => hasVxlan(h, 901)).map((h) => h.name);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.deepEqual(left, []);
    assert.match(deleted.stdout, /\nremoved from every live host: h1, h2, h3\n$/);
  });

  it('fails at the deadline naming the host whose agent is stopped, and what it reports', async () => {
    const h3 = cluster.agent(hosts[2]);
    // Frozen, its stream stays up (the server's keepalive takes longer than the wait): live, and behind.
    process.kill(h3.child.pid!, 'SIGSTOP');
    try {
      const r = cluster.ctlRun('vni', 'create', '902', '--wait=3s');
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stdout, /^VNI 902 \(vni-902\) created at revision \d+\n$/);
      assert.match(
        r.stderr,
        /^ctl vni create: not realised on every live host within 3s: h3 \((at configuration revision \d+, not yet \d+|not connected to the server \(gossip: \w+\))\)\n$/,
      );
      assert.ok(hasVxlan(hosts[0], 902) && hasVxlan(hosts[1], 902));
      assert.ok(!hasVxlan(hosts[2], 902));
    } finally {
      await h3.stop('SIGKILL');
    }
  });

  it('does not wait for a host whose agent is down, and names it', async () => {
    await eventually(() => assert.equal(nodeState('h3'), 'agent-down'), 60_000, 500);
    const r = cluster.ctlRun('vni', 'create', '903', '--wait=20s');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(hasVxlan(hosts[0], 903) && hasVxlan(hosts[1], 903));
    assert.match(r.stdout, /\nrealised on every live host: h1, h2\nnot waited for \(not live\): h3 \(agent-down\)\n$/);
  });
});
