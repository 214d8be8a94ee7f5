import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { eventually } from '../../lab/eventually';
import { LabCluster } from '../../lab/lab-cluster';
import { LabHost, LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import { BUSYBOX_IMAGE, DockerEngine } from '../helpers/docker-engine';
import { tearDownLab } from '../helpers/lab-teardown';
import { requirePrograms, requireRoot } from '../helpers/require-root';

const CREATE = ['network', 'create', '-d', 'vxgossip', '--ipam-driver', 'vxgossip'];
const NET42 = [...CREATE, '--subnet', '10.42.0.0/24', '-o', 'vni=42', 'net42'];
const run = (network: string, name?: string) => [
  'run',
  '-d',
  ...(name ? ['--name', name] : []),
  '--network',
  network,
  BUSYBOX_IMAGE,
  'sleep',
  '3600',
];

// Two Docker engines, each in its own lab host with its own agent serving the vxgossip network and
// IPAM drivers: `docker network create -d vxgossip … -o vni=42` on both, and containers on the two
// hosts reach each other over VNI 42.
describe('Docker network and IPAM drivers: two engines on two hosts (real kernel, docker.io)', function () {
  this.timeout(600_000);
  const dir = makeTempDir('docker');
  let lab: LabNetwork | undefined;
  let cluster: LabCluster;
  let h1: LabHost;
  let h2: LabHost;
  const engines: DockerEngine[] = [];
  const [e1, e2] = [() => engines[0], () => engines[1]];

  before(async function () {
    requireRoot(this);
    requirePrograms(this, {
      dockerd: 'docker.io',
      docker: 'docker.io',
      busybox: 'busybox-static',
      nsenter: 'util-linux',
      bridge: 'iproute2',
    });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    cluster = await LabCluster.start(lab, dir, {
      agentArgs: (h) => ['--docker-plugin-dir', path.join(dir, `${h.name}-plugins`)],
    });
    [h1, h2] = cluster.hosts;
    cluster.ctl('vni', 'create', '42', '--subnet', '10.42.0.0/24');
    // Room for a handful of addresses only: exhausted soon.
    cluster.ctl('vni', 'create', '43', '--subnet', '10.43.0.0/29');
    cluster.ctl('vni', 'create', '100', '--mode', 'l3', '--subnet', '10.100.0.0/24');
    for (const h of cluster.hosts)
      await eventually(() => assert.ok(h.link('br42') && h.link('br43') && h.link('vxl3-8472')), 20_000);
    for (const h of cluster.hosts)
      engines.push(
        await DockerEngine.start(h, path.join(dir, `${h.name}-docker`), path.join(dir, `${h.name}-plugins`)),
      );
    await Promise.all(engines.map((e) => e.importBusybox()));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      for (const e of engines) console.error(`--- ${e.host.name}/dockerd ---\n${e.logs()}`);
  });
  // Engines go before the lab: removing their containers asks the agents to unplug them.
  after(async () => {
    for (const e of engines) await e.stop();
  });
  tearDownLab(() => lab, dir);

  it('refuses bad input with a clear error in docker output', async () => {
    const refused = async (args: string[], reason: RegExp) => {
      const r = await e1().docker(args);
      assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail`);
      assert.match(r.stderr, reason);
    };
    await refused(
      [...CREATE, '--subnet', '10.42.0.0/24', 'novni'],
      /vxgossip: no VNI: create the network with -o vni=N/,
    );
    await refused(
      [...CREATE, '--subnet', '10.77.0.0/24', '-o', 'vni=77', 'net77'],
      /vxgossip: .*(VNI 77 is not in this host's configuration|no VNI in this host's configuration has the subnet 10.77.0.0\/24)/,
    );
    await refused(
      [...CREATE, '--subnet', '10.99.0.0/24', '-o', 'vni=42', 'net99'],
      /vxgossip: no VNI in this host's configuration has the subnet 10.99.0.0\/24/,
    );
    await e1().ok(NET42);
    // The subnet of another VNI: a second network for VNI 42 with another subnet.
    await refused(
      [...CREATE, '--subnet', '10.43.0.0/29', '-o', 'vni=42', 'net42b'],
      /vxgossip: subnet 10.43.0.0\/29 is not VNI 42's: use --subnet 10.42.0.0\/24/,
    );
  });

  it('connects containers on the two hosts over VNI 42, with no docker_gwbridge', async () => {
    await e2().ok(NET42);
    await e1().ok(run('net42', 'c1'));
    await e2().ok(run('net42', 'c2'));
    const [ip1, ip2] = [await e1().ipOf('c1'), await e2().ipOf('c2')];
    assert.match(ip1, /^10\.42\.0\.\d+$/);
    assert.notEqual(ip1, ip2);
    await e1().ok(['exec', 'c1', 'ping', '-c', '3', '-W', '2', ip2]);
    await e2().ok(['exec', 'c2', 'ping', '-c', '3', '-W', '2', ip1]);
    assert.doesNotMatch(await e1().ok(['network', 'ls']), /docker_gwbridge/);
    const links = await e1().ok(['exec', 'c1', 'ip', '-o', 'link']);
    assert.deepEqual(
      links.split('\n').map((l) => l.split(':')[1].trim().split('@')[0]),
      ['lo', 'eth0'],
    );
  });

  it("routes an L3 VNI's containers through its anycast gateway", async () => {
    const create = [...CREATE, '--subnet', '10.100.0.0/24', '-o', 'vni=100', 'net100'];
    await Promise.all([e1().ok(create), e2().ok(create)]);
    await e1().ok(run('net100', 'r1'));
    await e2().ok(run('net100', 'r2'));
    const ip2 = await e2().ipOf('r2');
    assert.match(await e1().ok(['exec', 'r1', 'ip', 'route']), /default via 10\.100\.0\.1 dev eth0/);
    await e1().ok(['exec', 'r1', 'ping', '-c', '3', '-W', '2', ip2]);
    await e1().ok(['rm', '-f', 'r1']);
    await e2().ok(['rm', '-f', 'r2']);
  });

  it('gives 50 containers across the two hosts 50 distinct addresses', async () => {
    const extra = async (engine: DockerEngine, n: number) => {
      const ids: string[] = [];
      // A few at a time: two engines and their agents share the machine.
      for (let i = 0; i < n; i += 4)
        ids.push(...(await Promise.all([...Array(Math.min(4, n - i)).keys()].map(() => engine.ok(run('net42'))))));
      return ids;
    };
    const [more1, more2] = await Promise.all([extra(e1(), 24), extra(e2(), 24)]);
    const ips = [
      await e1().ipOf('c1'),
      await e2().ipOf('c2'),
      ...(await Promise.all(more1.map((id) => e1().ipOf(id)))),
      ...(await Promise.all(more2.map((id) => e2().ipOf(id)))),
    ];
    assert.equal(ips.length, 50);
    assert.equal(new Set(ips).size, 50, `addresses handed out twice: ${ips.join(' ')}`);
    await e1().ok(['rm', '-f', ...more1], 120_000);
    await e2().ok(['rm', '-f', ...more2], 120_000);
  });

  it('keeps every packet and every network through an agent restart', async () => {
    const ip2 = await e2().ipOf('c2');
    const pinging = e1().docker(['exec', 'c1', 'ping', '-i', '0.1', '-c', '80', '-W', '1', ip2], 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await cluster.restartAgent(h1, 'SIGTERM');
    const ping = await pinging;
    assert.match(ping.stdout, / 0% packet loss/, ping.stdout);
    assert.match(await e1().ok(['exec', 'c1', 'ip', '-4', '-o', 'addr', 'show', 'eth0']), /10\.42\.0\./);
    // Docker goes on with the same network: a new container after the restart joins it.
    await e1().ok(run('net42', 'c3'));
    await e1().ok(['exec', 'c3', 'ping', '-c', '2', '-W', '2', ip2]);
  });

  it('a removed container: its address released, its endpoint withdrawn everywhere', async () => {
    const ip2 = await e2().ipOf('c2');
    const mac = await e2().ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}', 'c2']);
    const onH1 = () => h1.exec('bridge', ['fdb', 'show', 'dev', 'vxlan42']);
    await eventually(() => assert.match(onH1(), new RegExp(mac)), 10_000);
    await e2().ok(['rm', '-f', 'c2']);
    await eventually(() => assert.doesNotMatch(onH1(), new RegExp(mac)), 10_000);
    await cluster.agent(h2).waitForLog((r) => r.msg === 'Docker address released' && r.ip === `${ip2}/24`);
    assert.equal(
      await e1()
        .docker(['exec', 'c1', 'ping', '-c', '1', '-W', '1', ip2])
        .then((r) => r.status),
      1,
    );
  });

  it('refuses a container when the addresses are exhausted', async () => {
    await e1().ok([...CREATE, '--subnet', '10.43.0.0/29', '-o', 'vni=43', 'net43']);
    let started = 0;
    let refusal = '';
    for (; started < 8 && refusal === ''; started++) {
      const r = await e1().docker(run('net43'));
      if (r.status !== 0) refusal = r.stderr;
    }
    assert.match(
      refusal,
      /vxgossip: .*10\.43\.0\.0\/29 of VNI 43 is exhausted/,
      'a /29 has 5 addresses for endpoints at most',
    );
    assert.ok(started <= 6);
  });

  it('a container started while the agent is down gets a clear error', async () => {
    await cluster.agent(h2).stop('SIGTERM');
    const r = await e2().docker(run('net42'), 120_000);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /vxgossip\.sock: connect: (no such file or directory|connection refused)/);
    await cluster.restartAgent(h2, 'SIGTERM');
    await e2().ok(run('net42', 'c4'));
  });
});
