import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { pingOutcome } from '../helpers/lab-workloads';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { FLOOD_MAC } from '../../common/fdb-state/record';
import { createJoinToken, operatorArgs } from '../../lab/credentials';

// Four hosts in namespaces with real vxlan: endpoints attached through ctl must reach each other
// through FDB entries every agent learned by gossip, and keep doing so through moves, restarts,
// failures, manual damage, cut links and a dead server.
describe('gossip FDB end to end (4 hosts, real vxlan)', function () {
  this.timeout(300_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  const agents = new Map<string, ManagedProcess>();
  let server: ManagedProcess;
  const dataDirs: string[] = [];
  const endpoints = new Map<string, { netns: string; ip: string; mac: string }>();
  const serverAddr = () => `${ctrl.ip}:50051`;
  let serverDir = '';
  let joinToken = '';

  const ctl = (...args: string[]) => {
    const r = ctrl.ctl([...operatorArgs(serverAddr(), serverDir), ...args]);
    assert.equal(r.status, 0, `ctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  function startServer(dir?: string): ManagedProcess {
    const dataDir = dir ?? makeTempDir('server');
    if (!dir) dataDirs.push(dataDir);
    serverDir = dataDir;
    server = ctrl.spawnBin('server', 'server', [
      '--listen',
      serverAddr(),
      '--data-dir',
      dataDir,
      '--metrics',
      '127.0.0.1:9751',
    ]);
    return server;
  }

  function startAgent(host: LabHost): ManagedProcess {
    let dir = dataDirs.find((d) => d.includes(`-agent-${host.name}-`));
    if (!dir) {
      dir = makeTempDir(`agent-${host.name}`);
      dataDirs.push(dir);
    }
    const join = hosts
      .filter((h) => h !== host)
      .map((h) => `${h.ip}:7946`)
      .join(',');
    const agent = host.spawnBin('agent', 'node-agent', [
      '--name',
      host.name,
      '--vtep',
      host.ip,
      '--server',
      serverAddr(),
      '--data-dir',
      dir,
      '--join',
      join,
      '--log-level',
      'debug',
      '--metrics',
      '127.0.0.1:9746',
      '--join-token',
      joinToken,
    ]);
    agents.set(host.name, agent);
    return agent;
  }

  // An HTTP GET on a daemon's metrics listener from inside its namespace: status line, then the body.
  const httpGet = (host: LabHost, port: number, path: string) =>
    host.exec(process.execPath, [
      '-e',
      `fetch('http://127.0.0.1:${port}${path}').then(async (r) => process.stdout.write(r.status + '\\n' + (await r.text())))`,
    ]);
  const scrape = (host: LabHost, port: number) => httpGet(host, port, '/metrics').replace(/^200\n/, '');
  const readiness = (host: LabHost) => {
    const [status, ...body] = httpGet(host, 9746, '/readyz').split('\n');
    return {
      status: Number(status),
      ...(JSON.parse(body.join('\n')) as { ready: boolean; checks: Record<string, string> }),
    };
  };
  const ping = (from: string, to: string, count = 1) =>
    lab.execIn(endpoints.get(from)!.netns, 'ping', [
      '-c',
      String(count),
      '-W',
      '1',
      '-i',
      '0.2',
      endpoints.get(to)!.ip.split('/')[0],
    ]);
  const fdbOf = (host: LabHost, dev: string) =>
    JSON.parse(host.exec('bridge', ['-j', 'fdb', 'show', 'dev', dev]) || '[]') as Array<{
      mac: string;
      dst?: string;
      flags?: string[];
    }>;

  async function attach(host: LabHost, name: string, ip: string): Promise<void> {
    const netns = lab.namespace(name);
    const out = JSON.parse(
      ctl('-o', 'json', 'endpoint', 'attach', '--node', host.name, '--vni', '42', '--netns', netns, '--ip', ip),
    );
    endpoints.set(name, { netns, ip, mac: out.mac });
  }

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2', ping: 'iputils-ping' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3', 'h4']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    await startServer().waitForLog((r) => r.msg === 'server ready');
    joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr(), serverDir, hosts.length);
    await Promise.all(hosts.map((h) => startAgent(h).waitForLog((r) => r.msg === 'connected to server')));
    await Promise.all(
      hosts.map((h) => agents.get(h.name)!.waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000)),
    );
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && lab)
      console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });

  after(async () => {
    await lab?.destroy();
    for (const dir of dataDirs) removeTempDir(dir);
  });

  it('every endpoint pings every other across hosts', async () => {
    ctl('vni', 'create', '42');
    for (const h of hosts) await eventually(() => assert.ok(h.link('br42')), 20_000);
    for (const [i, h] of hosts.entries()) await attach(h, `ep${i + 1}`, `10.42.0.${i + 1}/24`);
    await eventually(() => {
      for (const h of hosts) {
        const remote = fdbOf(h, 'vxlan42').filter((e) => e.dst && e.mac !== FLOOD_MAC);
        assert.equal(remote.length, 3, `${h.name} has ${remote.length} remote MACs: ${JSON.stringify(remote)}`);
      }
    }, 20_000);
    for (const from of endpoints.keys()) {
      for (const to of endpoints.keys()) {
        if (from === to) continue;
        const r = ping(from, to);
        assert.equal(r.status, 0, `${from} -> ${to}: ${r.stdout}${r.stderr}`);
      }
    }
  });

  it('exposes Prometheus metrics on both daemons that agree with the kernel', async () => {
    const value = (text: string, metric: string) =>
      Number(new RegExp(`^${metric.replace(/[{}".]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    await eventually(() => {
      const m = scrape(hosts[0], 9746);
      // 3 remote MACs x (vxlan entry, bridge entry, neighbour) + 3 flood entries.
      assert.equal(value(m, 'vxgossip_fdb_desired_entries{vni="42"}'), 12, m);
      assert.equal(value(m, 'vxgossip_fdb_programmed_entries{vni="42"}'), 12);
      assert.equal(value(m, 'vxgossip_gossip_members{state="alive"}'), 4);
      assert.ok(value(m, 'vxgossip_convergence_latency_seconds_count') >= 3);
    }, 10_000);
    await eventually(() => {
      const status = JSON.parse(ctl('-o', 'json', 'status'));
      assert.equal(status.healthy, true, JSON.stringify(status));
      assert.deepEqual(status.members, { alive: 4 });
      assert.ok(status.hosts.every((h: { inSync: boolean; desired: number }) => h.inSync && h.desired === 12));
    }, 10_000);
    const ready = readiness(hosts[0]);
    assert.equal(ready.status, 200, JSON.stringify(ready));
    assert.deepEqual(ready.checks, { kernel: 'ok', gossip: 'ok', server: 'ok', vnis: 'ok' });
    assert.equal(httpGet(hosts[0], 9746, '/healthz'), '200\nok\n');
    const s = scrape(ctrl, 9751);
    assert.equal(value(s, 'vxgossip_agents{state="connected"}'), 4);
    // Labels in any order: the exposition format does not fix it.
    assert.match(s, /vxgossip_rpc_duration_seconds_count\{(?=[^}]*code="OK")(?=[^}]*method="AttachEndpoint")[^}]*\} 4/);
  });

  it('routes an L3 VNI through lightweight tunnels: every endpoint pings every other', async () => {
    // Port 4789 is taken by the l2 VNI: the kernel cannot share it with an external device.
    const refused = ctrl.ctl([
      ...operatorArgs(serverAddr(), serverDir),
      'vni',
      'create',
      '51',
      '--mode',
      'l3',
      '--subnet',
      '10.51.0.0/24',
      '--dstport',
      '4789',
    ]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /dstport: UDP port 4789 is used by l2 VNI 42/);
    ctl('vni', 'create', '50', '--mode', 'l3', '--subnet', '10.50.0.0/24');
    for (const h of hosts)
      await eventually(() => assert.equal(h.link('vxl3-8472')?.linkinfo?.info_data?.external, true), 20_000);
    const l3: Array<{ netns: string; ip: string }> = [];
    // From .11: .1 is the VNI's gateway.
    for (const [i, h] of hosts.entries()) {
      const netns = lab.namespace(`l3ep${i + 1}`);
      ctl('endpoint', 'attach', '--node', h.name, '--vni', '50', '--netns', netns, '--ip', `10.50.0.${i + 11}/24`);
      l3.push({ netns, ip: `10.50.0.${i + 11}` });
    }
    await eventually(() => {
      for (const [i, h] of hosts.entries()) {
        const routes = h.exec('ip', ['-d', 'route', 'show', 'table', '1000000050', 'dev', 'vxl3-8472']);
        for (const [j] of hosts.entries())
          if (i !== j)
            assert.match(
              routes,
              new RegExp(
                `10\\.50\\.0\\.${j + 11} +encap ip id 50 src [0-9.]+ dst ${hosts[j].ip.replace(/\./g, '\\.')}`,
              ),
              `${h.name}: ${routes}`,
            );
      }
    }, 20_000);
    for (const a of l3) {
      for (const b of l3) {
        if (a === b) continue;
        const r = lab.execIn(a.netns, 'ping', ['-c', '1', '-W', '2', b.ip]);
        assert.equal(r.status, 0, `${a.ip} -> ${b.ip}: ${r.stdout}${r.stderr}`);
      }
    }
  });

  it('answers ARP from the bridge: no ARP broadcast crosses the underlay after convergence', async () => {
    const h1 = hosts[0];
    // Inner ethertype ARP with a broadcast destination, inside VXLAN on the underlay.
    const capture = h1.spawn('tcpdump', 'tcpdump', [
      '-l',
      '-n',
      '-i',
      'eth0',
      'udp port 4789 and udp[28:2] = 0x0806 and udp[16:4] = 0xffffffff',
    ]);
    await capture.waitForOutput(/listening on/, 10_000);
    lab.execIn(endpoints.get('ep1')!.netns, 'ip', ['neigh', 'flush', 'all']);
    for (const to of ['ep2', 'ep3', 'ep4']) assert.equal(ping('ep1', to).status, 0);
    const neigh = lab.execIn(endpoints.get('ep1')!.netns, 'ip', ['-j', 'neigh', 'show']);
    assert.equal(
      JSON.parse(neigh.stdout).filter((n: { lladdr?: string }) => n.lladdr).length,
      3,
      'ep1 resolved all three peers',
    );
    await new Promise((r) => setTimeout(r, 500));
    await capture.stop('SIGTERM');
    const broadcasts = capture
      .logs()
      .split('\n')
      .filter((l) => /ARP|UDP/.test(l) && !/listening/.test(l));
    assert.deepEqual(broadcasts, [], 'ARP requests were flooded over VXLAN');
  });

  it('follows a MAC that moves to another host', async () => {
    const [h1, , , h4] = hosts;
    const moving = endpoints.get('ep4')!;
    ctl('endpoint', 'detach', '--node', h4.name, '--vni', '42', '--netns', moving.netns);
    const netns = lab.namespace('ep4-moved');
    ctl(
      'endpoint',
      'attach',
      '--node',
      h1.name,
      '--vni',
      '42',
      '--netns',
      netns,
      '--ip',
      moving.ip,
      '--mac',
      moving.mac,
    );
    endpoints.set('ep4', { ...moving, netns });
    await eventually(() => {
      const entry = fdbOf(hosts[1], 'vxlan42').find((e) => e.mac === moving.mac && e.dst);
      assert.equal(entry?.dst, h1.ip, 'h2 forwards the moved MAC to h1');
    }, 20_000);
    lab.execIn(endpoints.get('ep2')!.netns, 'ip', ['neigh', 'flush', 'all']);
    assert.equal(ping('ep2', 'ep4').status, 0);
    assert.equal(ping('ep3', 'ep4').status, 0);
  });

  it('repairs an owned FDB entry deleted by hand', async () => {
    const h1 = hosts[0];
    const ep2 = endpoints.get('ep2')!;
    h1.exec('bridge', ['fdb', 'del', ep2.mac, 'dev', 'vxlan42', 'dst', hosts[1].ip, 'self']);
    await eventually(
      () =>
        assert.ok(
          fdbOf(h1, 'vxlan42').some((e) => e.mac === ep2.mac && e.dst === hosts[1].ip),
          'entry restored',
        ),
      10_000,
    );
    // An operator's own entry on the same device is never swept.
    h1.exec('bridge', ['fdb', 'add', '02:99:00:00:00:01', 'dev', 'vxlan42', 'master', 'static']);
    h1.exec('bridge', ['fdb', 'del', ep2.mac, 'dev', 'vxlan42', 'dst', hosts[1].ip, 'self']);
    await eventually(
      () =>
        assert.ok(
          fdbOf(h1, 'vxlan42').some((e) => e.mac === ep2.mac && e.dst === hosts[1].ip),
          'entry restored again',
        ),
      10_000,
    );
    assert.ok(
      fdbOf(h1, 'vxlan42').some((e) => e.mac === '02:99:00:00:00:01' && !e.dst),
      'operator entry kept',
    );
    h1.exec('bridge', ['fdb', 'del', '02:99:00:00:00:01', 'dev', 'vxlan42', 'master']);
  });

  it('loses no packet of a 100/s ping while an agent restarts (SIGTERM, then kill -9)', async () => {
    const h2 = hosts[1];
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const pinger = lab.spawnIn(endpoints.get('ep1')!.netns, 'ping', 'ping', [
        '-D',
        '-O',
        '-i',
        '0.01',
        '-c',
        '500',
        '-W',
        '1',
        endpoints.get('ep2')!.ip.split('/')[0],
      ]);
      await new Promise((r) => setTimeout(r, 1000));
      await agents.get(h2.name)!.stop(signal);
      await startAgent(h2).waitForLog((r) => r.msg === 'reconciled', 20_000);
      const code = await pinger.exited;
      const ping = pingOutcome(pinger.logs());
      assert.equal(ping.received, ping.sent, `${signal}: ${ping.summary}; unanswered: ${ping.unanswered.join(' | ')}`);
      assert.equal(code, 0);
    }
  });

  it('a graceful leave (SIGINT) withdraws at once, and a return restores the entries', async () => {
    const h3 = hosts[2];
    const leftAt = Date.now();
    await agents.get(h3.name)!.stop('SIGINT');
    await eventually(
      () => {
        for (const h of [hosts[0], hosts[1]])
          assert.deepEqual(
            fdbOf(h, 'vxlan42').filter((e) => e.dst === h3.ip),
            [],
            `${h.name} still forwards to ${h3.ip}`,
          );
      },
      10_000,
      50,
    );
    const took = Date.now() - leftAt;
    assert.ok(took < 5000, `withdrawal after a leave took ${took} ms; failure detection would take longer`);
    await startAgent(h3).waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000);
    await eventually(
      () =>
        assert.ok(
          fdbOf(hosts[0], 'vxlan42').some((e) => e.dst === h3.ip && e.mac !== FLOOD_MAC),
          'h3 entries back on h1',
        ),
      20_000,
    );
    assert.equal(ping('ep1', 'ep3').status, 0);
  });

  it("withdraws a dead host's entries everywhere (kill -9 and namespace removed)", async () => {
    const h4 = hosts[3];
    const gone = h4.ip;
    await lab.removeHost(h4.name);
    assert.equal(fs.existsSync(h4.localSocketDir), false, 'the removed host left its socket directory behind');
    hosts = hosts.slice(0, 3);
    await eventually(() => {
      for (const h of hosts)
        assert.deepEqual(
          fdbOf(h, 'vxlan42').filter((e) => e.dst === gone),
          [],
          `${h.name} still forwards to ${gone}`,
        );
    }, 45_000);
  });

  it('heals a cut underlay link: no stale entries, every ping works', async () => {
    const [h1, , h3] = hosts;
    lab.setLink(h3.name, false);
    await eventually(
      () =>
        assert.deepEqual(
          fdbOf(h1, 'vxlan42').filter((e) => e.dst === h3.ip),
          [],
          'h1 withdrew h3',
        ),
      45_000,
    );
    await eventually(
      () => {
        const r = readiness(h3);
        assert.equal(r.status, 503, JSON.stringify(r));
        assert.match(r.checks.gossip, /no peer answering/);
      },
      30_000,
      1000,
    );
    lab.setLink(h3.name, true);
    await eventually(
      () => {
        for (const h of hosts) {
          const remote = fdbOf(h, 'vxlan42').filter((e) => e.dst && e.mac !== FLOOD_MAC);
          assert.ok(remote.length >= 2 && remote.length <= endpoints.size, `${h.name}: ${JSON.stringify(remote)}`);
          for (const e of remote)
            assert.ok(
              hosts.some((x) => x.ip === e.dst),
              `${h.name} has a stale entry to ${e.dst}`,
            );
        }
        for (const to of ['ep1', 'ep2', 'ep4']) assert.equal(ping('ep3', to).status, 0, `ep3 -> ${to}`);
        assert.equal(readiness(h3).status, 200, 'h3 ready again');
      },
      60_000,
      1000,
    );
  });

  it('keeps learning with the server down: a new endpoint is programmed everywhere, and the server catches up', async () => {
    const h2 = hosts[1];
    await server.stop('SIGKILL');
    // A workload appears the way a container runtime would add it: a veth into br42, no API.
    const netns = lab.namespace('late');
    h2.exec('ip', ['link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    h2.exec('ip', ['link', 'set', 'late0', 'master', 'br42', 'up']);
    lab.execIn(netns, 'ip', ['addr', 'add', '10.42.0.20/24', 'dev', 'eth0']);
    lab.execIn(netns, 'ip', ['link', 'set', 'eth0', 'up']);
    const mac = JSON.parse(lab.execIn(netns, 'ip', ['-j', 'link', 'show', 'eth0']).stdout)[0].address as string;
    endpoints.set('late', { netns, ip: '10.42.0.20/24', mac });
    await eventually(() => assert.equal(ping('late', 'ep1').status, 0), 20_000);
    await eventually(() => {
      for (const h of [hosts[0], hosts[2]])
        assert.equal(
          fdbOf(h, 'vxlan42').find((e) => e.mac === mac && e.dst)?.dst,
          h2.ip,
          `${h.name} learned the new MAC`,
        );
    }, 20_000);
    const dir = dataDirs.find((d) => d.includes('server'))!;
    await startServer(dir).waitForLog((r) => r.msg === 'server ready');
    await eventually(() => {
      const listed = JSON.parse(ctl('-o', 'json', 'endpoint', 'list', '--vni', '42'));
      assert.ok(
        listed.some((e: { mac: string; node: string }) => e.mac === mac && e.node === h2.name),
        'the server learned it after restarting',
      );
    }, 30_000);
  });
});
