import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { EtcdCluster, ETCD_PROGRAMS } from '../../lab/etcd-cluster';
import { eventually } from '../../lab/eventually';
import { LabCluster } from '../../lab/lab-cluster';
import { LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import { operatorArgs } from '../../lab/credentials';
import type { ManagedProcess } from '../../lab/managed-process';
import { tearDownLab } from '../helpers/lab-teardown';
import { requirePrograms, requireRoot } from '../helpers/require-root';

const READYZ_PORT = 9100;
// VNI creates in the burst, one after another, a few before the kill and most during and after it.
const CREATES = 40;

interface FdbEvent {
  type: string;
  revision: number;
  entry: { vni: number; mac: string; node: string; kind: string } | null;
}

// Two server replicas on a three-member etcd cluster, each in a namespace of its own, and three hosts
// whose agents and ctl are given both replicas: what #18 promises when a machine of the controller is
// lost (kill -9 a replica, kill -9 etcd's leader) or cut off (a replica partitioned from etcd).
describe('server replicas on etcd (namespaces, 3 etcd members, 2 replicas)', function () {
  this.timeout(240_000);
  let lab: LabNetwork | undefined;
  let etcd: EtcdCluster;
  let cluster: LabCluster;
  const dir = makeTempDir('replicas');
  let endpoints = 0;

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ...ETCD_PROGRAMS, ip: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'ctrl2', 'h1', 'h2', 'h3']);
    etcd = await EtcdCluster.start(lab, dir);
    cluster = await LabCluster.start(lab, dir, {
      servers: ['ctrl', 'ctrl2'],
      agentHosts: ['h1', 'h2', 'h3'],
      serverArgs: [
        ...['--store', 'etcd', '--etcd-endpoints', etcd.endpoints().join(',')],
        ...['--metrics', `127.0.0.1:${READYZ_PORT}`],
      ],
    });
    cluster.ctl('vni', 'create', '42');
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && lab)
      console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });
  tearDownLab(() => lab, dir);

  const json = <T>(...args: string[]) => JSON.parse(cluster.ctl('-o', 'json', ...args)) as T;
  const connectedTo = () =>
    json<Array<{ name: string; connected: boolean }>>('node', 'list')
      .filter((n) => n.connected)
      .map((n) => n.name)
      .sort();
  // ctl from ctrl's namespace, not waiting: its exit status says whether the write was acknowledged.
  const ctlProcess = (label: string, ...args: string[]): ManagedProcess =>
    cluster.ctrl.spawnBin(label, 'ctl', [...operatorArgs(cluster.ctlServers, cluster.serverDir), ...args]);
  const attach = (node: string) => {
    const n = ++endpoints;
    return ctlProcess(
      `attach-${n}`,
      'endpoint',
      'attach',
      '--node',
      node,
      '--vni',
      '42',
      '--netns',
      lab!.namespace(`ep${n}`),
      '--ip',
      `10.42.0.${n}/24`,
    );
  };
  const watchEvents = (watch: ManagedProcess) => watch.logRecords() as unknown as FdbEvent[];
  // What the events of a watch add up to: the unicast entries it says are served now.
  const replayed = (events: FdbEvent[]) => {
    const served = new Set<string>();
    for (const e of events) {
      if (!e.entry || e.entry.kind !== 'unicast') continue;
      const key = `${e.entry.vni}/${e.entry.mac}`;
      if (e.type === 'removed') served.delete(key);
      else served.add(key);
    }
    return [...served].sort();
  };
  const servedNow = () =>
    json<Array<{ vni: number; mac: string; kind: string }>>('fdb', 'show')
      .filter((e) => e.kind === 'unicast')
      .map((e) => `${e.vni}/${e.mac}`)
      .sort();

  it('kill -9 of the replica holding every agent during a burst: nothing acknowledged lost, agents move within seconds, the watch resumes with no gap and no duplicate', async () => {
    await eventually(() => assert.deepEqual(connectedTo(), ['h1', 'h2', 'h3']), 30_000);
    const watch = ctlProcess('watch', '-o', 'json', 'watch', 'fdb');
    await watch.waitForOutput(/"type":"snapshot-end"/, 15_000);
    // The burst: VNI creates one after another (each acknowledged one says so), before, during and
    // after the kill, and endpoint attaches on every host at once.
    const ctl = [
      process.execPath,
      path.join(repoRoot, 'bin', 'ctl'),
      ...operatorArgs(cluster.ctlServers, cluster.serverDir),
    ];
    const burst = cluster.ctrl.spawn('burst', 'bash', [
      '-c',
      `for i in $(seq 100 ${100 + CREATES - 1}); do "$@" vni create $i >/dev/null 2>&1 && echo "ACK $i"; done`,
      'burst',
      ...ctl,
    ]);
    const attaches = ['h1', 'h2', 'h3', 'h1', 'h2', 'h3'].map(attach);
    await burst.waitForOutput(/ACK 10[3-9]/, 20_000);
    const killedAt = Date.now();
    const logged = cluster.hosts.map((h) => cluster.agent(h).logRecords().length);
    await cluster.server.stop('SIGKILL');
    // Each agent says when it holds a stream to the other replica.
    const ctrl2 = `${lab!.host('ctrl2').ip}:50051`;
    const moved = await Promise.all(
      cluster.hosts.map((h, i) =>
        cluster
          .agent(h)
          .waitForLog((r) => r.msg === 'connected to server' && r.server === ctrl2, 20_000, logged[i])
          .then(() => Date.now() - killedAt),
      ),
    );

    await burst.exited;
    const createdIds = [...burst.logs().matchAll(/ACK (\d+)/g)].map((m) => Number(m[1]));
    assert.ok(
      createdIds.some((id) => id > 110),
      `nothing was acknowledged after the kill: ${burst.logs()}`,
    );
    const listed = json<Array<{ id: number }>>('vni', 'list').map((v) => v.id);
    for (const id of createdIds) assert.ok(listed.includes(id), `VNI ${id} was acknowledged but is gone`);
    await eventually(() => assert.deepEqual(connectedTo(), ['h1', 'h2', 'h3']), 30_000);
    console.log(
      `      agents on the other replica ${moved.join(', ')} ms after the kill; ${createdIds.length}/${CREATES} creates acknowledged`,
    );

    const attached = (await Promise.all(attaches.map((p) => p.exited))).filter((code) => code === 0).length;
    // What the agents hold reaches the other replica when they resync: every acknowledged attach is served.
    await eventually(
      () => assert.ok(servedNow().length >= attached, `${servedNow().length} served, ${attached} attached`),
      30_000,
    );
    await eventually(() => assert.deepEqual(replayed(watchEvents(watch)), servedNow()), 30_000);
    assert.match(watch.logs(), /resuming on .* after revision \d+/, 'the watch said where it resumed');
    const changes = watchEvents(watch).filter((e) => e.type !== 'snapshot' && e.type !== 'snapshot-end');
    const revisions = changes.map((e) => e.revision);
    assert.deepEqual(
      revisions,
      [...new Set(revisions)].sort((a, b) => a - b),
      'a revision twice, or out of order',
    );
    // ctl reaches ctrl2 now; an attach on h1 still reaches its agent, through the replica holding it.
    await cluster.startServer('ctrl');
    const before = servedNow().length;
    const routed = attach('h1');
    assert.equal(await routed.exited, 0, routed.logs());
    await eventually(() => assert.equal(servedNow().length, before + 1), 30_000);
    await eventually(() => assert.deepEqual(replayed(watchEvents(watch)), servedNow()), 30_000);
    await watch.stop();
  });

  it('kill -9 of the etcd leader: writes resume after the election, nothing acknowledged is lost', async () => {
    const leader = await etcd.leader();
    const before = json<Array<{ id: number }>>('vni', 'list').map((v) => v.id);
    await etcd.kill(leader, 'SIGKILL');
    let created: number | undefined;
    await eventually(() => {
      const r = cluster.ctlRun('vni', 'create', '200');
      assert.ok(r.status === 0 || /already exists/.test(r.stderr), r.stderr);
      created = 200;
    }, 30_000);
    const after = json<Array<{ id: number }>>('vni', 'list').map((v) => v.id);
    for (const id of [...before, created!]) assert.ok(after.includes(id), `VNI ${id} lost`);
    await etcd.restart(leader);
  });

  it('a replica partitioned from etcd reports NOT_SERVING and refuses writes; the other carries on', async () => {
    const cut = lab!.host('ctrl2');
    etcd.partition('ctrl2', etcd.members);
    try {
      const ctl2 = (...args: string[]) =>
        cut.ctl([...operatorArgs(`${cut.ip}:50051`, cluster.serverDirOf('ctrl2')), ...args]);
      // /readyz, as a load balancer or systemd's watchdog reads it, from the replica's own namespace.
      const readyz = `fetch('http://127.0.0.1:${READYZ_PORT}/readyz').then(async (r) => console.log(r.status, await r.text()))`;
      await eventually(() => {
        const r = cut.run(process.execPath, ['-e', readyz]);
        assert.match(r.stdout, /^503 .*etcd does not answer/s, r.stdout + r.stderr);
      }, 20_000);
      const refused = ctl2('vni', 'create', '300');
      assert.notEqual(refused.status, 0, 'a replica cut off from etcd acknowledged a write');
      assert.match(refused.stderr, /UNAVAILABLE|etcd|may or may not/i);
      const ctl1 = (...args: string[]) =>
        cluster.ctrl.ctl([...operatorArgs(cluster.serverAddr, cluster.serverDir), ...args]);
      assert.equal(ctl1('vni', 'create', '301').status, 0, 'the other replica refused a write');
      await eventually(() => assert.deepEqual(connectedTo(), ['h1', 'h2', 'h3']), 30_000);
    } finally {
      etcd.heal();
    }
  });
});
