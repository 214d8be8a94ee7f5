import { strict as assert } from 'node:assert';
import { EtcdCluster, ETCD_PROGRAMS } from '../../lab/etcd-cluster';
import { eventually } from '../../lab/eventually';
import { LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import { tearDownLab } from '../helpers/lab-teardown';
import { requirePrograms, requireRoot } from '../helpers/require-root';

// The test harness for server replicas: three etcd members, each in a namespace of its own on the lab's
// underlay. What the replica tests lean on is checked here: a leader killed with SIGKILL is replaced and
// writes go on, the killed member comes back, and a partitioned member stops taking writes.
describe('etcd cluster in namespaces (lab/etcd-cluster)', function () {
  this.timeout(120_000);
  let lab: LabNetwork | undefined;
  let etcd: EtcdCluster;
  const dir = makeTempDir('etcd-cluster');

  before(async function () {
    requireRoot(this);
    requirePrograms(this, ETCD_PROGRAMS);
    lab = LabNetwork.create([]);
    etcd = await EtcdCluster.start(lab, dir);
  });
  tearDownLab(() => lab, dir);

  const put = (key: string, value: string, options: Parameters<EtcdCluster['etcdctl']>[1] = {}) =>
    etcd.etcdctl(['put', key, value], options);

  it('starts three healthy members that agree on one leader, with compaction configured', async () => {
    assert.deepEqual(
      etcd.endpoints(),
      etcd.members.map((m) => `http://${m.host.ip}:2379`),
    );
    assert.equal(etcd.members.length, 3);
    const leader = await etcd.leader();
    for (const member of etcd.members) {
      const status = await etcd.status(member);
      assert.equal(status.leaderId, (await etcd.status(leader)).memberId, `${member.name} follows another leader`);
    }
    for (const member of etcd.members) {
      const args = member.process.child.spawnargs.join(' ');
      assert.match(args, /--auto-compaction-mode revision --auto-compaction-retention \d+/);
      assert.match(args, /--quota-backend-bytes \d+/);
    }
    const r = await put('/t/first', 'one');
    assert.equal(r.status, 0, r.stderr);
  });

  it('elects a new leader when the leader is killed with SIGKILL, and takes writes after the election', async () => {
    const old = await etcd.leader();
    await etcd.kill(old, 'SIGKILL');
    assert.equal(old.running, false);
    const fresh = await etcd.leader();
    assert.notEqual(fresh.name, old.name);
    const r = await put('/t/after-election', 'two');
    assert.equal(r.status, 0, `a write after the election failed: ${r.stderr}`);

    // The killed member comes back from its data dir, rejoins and catches up with the write it missed.
    await etcd.restart(old);
    assert.equal(old.running, true);
    const got = await etcd.etcdctl(['get', '/t/after-election', '--print-value-only', '--consistency=s'], {
      from: old,
      endpoints: [old.clientUrl],
    });
    assert.equal(got.stdout.trim(), 'two', got.stderr);
    await eventually(async () => {
      const [rejoined, leader] = [await etcd.status(old), await etcd.status(await etcd.leader())];
      assert.equal(rejoined.leaderId, leader.memberId, `${old.name} follows no leader or another one`);
      assert.equal(rejoined.raftTerm, leader.raftTerm);
    });
  });

  it("stops a partitioned member's endpoint from taking writes, and heals", async () => {
    const leader = await etcd.leader();
    const cut = etcd.members.find((m) => m !== leader)!;
    const majority = etcd.members.filter((m) => m !== cut);
    etcd.partition(cut);
    try {
      // From the member's own namespace its endpoint still answers, but cannot commit without a quorum.
      const refused = await put('/t/minority', 'x', { from: cut, endpoints: [cut.clientUrl] });
      assert.notEqual(refused.status, 0, 'a member cut off from the others took a write');
      // From the majority's side it is not reachable at all.
      const unreachable = await put('/t/minority', 'x', { from: majority[0], endpoints: [cut.clientUrl] });
      assert.notEqual(unreachable.status, 0, 'a partitioned member answered across the partition');
      const r = await put('/t/majority', 'y', { from: majority[0], endpoints: majority.map((m) => m.clientUrl) });
      assert.equal(r.status, 0, `the majority refused a write: ${r.stderr}`);
    } finally {
      etcd.heal();
    }
    await eventually(async () => {
      const r = await put('/t/healed', 'z', { from: cut, endpoints: [cut.clientUrl] });
      assert.equal(r.status, 0, r.stderr);
    }, 30_000);
  });
});
