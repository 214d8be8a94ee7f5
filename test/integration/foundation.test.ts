import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { createJoinToken, operatorArgs } from '../../lab/credentials';

// Server + three agents, each host a network namespace on a shared underlay: the path from
// `ctl vni create` to real kernel devices, checked with iproute2 as the independent reference.
describe('foundation: ctl vni create -> devices on every host (namespaces, real kernel)', function () {
  this.timeout(180_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  let server: ManagedProcess;
  const agents = new Map<string, ManagedProcess>();
  const dataDirs = new Map<string, string>();
  const dataDir = (name: string) => dataDirs.get(name) ?? dataDirs.set(name, makeTempDir(name)).get(name)!;
  const serverAddr = () => `${ctrl.ip}:50051`;
  let joinToken = '';

  const ctl = (...args: string[]) => {
    const r = ctrl.ctl([...operatorArgs(serverAddr(), dataDir('server')), ...args]);
    assert.equal(r.status, 0, `ctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  function startAgent(host: LabHost): ManagedProcess {
    const agent = host.spawnBin('agent', 'node-agent', [
      '--name',
      host.name,
      '--vtep',
      host.ip,
      '--server',
      serverAddr(),
      '--data-dir',
      dataDir(host.name),
      '--log-level',
      'debug',
      // Only the first start enrols; later starts use the identity in the data dir.
      '--join-token',
      joinToken,
    ]);
    agents.set(host.name, agent);
    return agent;
  }

  function startServer(): ManagedProcess {
    server = ctrl.spawnBin('server', 'server', ['--listen', serverAddr(), '--data-dir', dataDir('server')]);
    return server;
  }

  // What `ip -d -j link show` says a correctly realised L2 VNI looks like on a host.
  function assertRealised(host: LabHost, vni: number, mtu = 1450): { vxlan: number; bridge: number } {
    const vx = host.link(`vxlan${vni}`);
    assert.ok(vx, `${host.name}: vxlan${vni} missing`);
    assert.equal(vx.linkinfo.info_kind, 'vxlan');
    assert.equal(vx.linkinfo.info_data.id, vni);
    assert.equal(vx.linkinfo.info_data.port, 4789);
    assert.equal(vx.linkinfo.info_data.local, host.ip);
    assert.equal(vx.linkinfo.info_data.learning, false);
    assert.equal(vx.linkinfo.info_data.link, 'eth0');
    assert.equal(vx.master, `br${vni}`);
    assert.ok(vx.flags.includes('UP'), `${host.name}: vxlan${vni} is not up`);
    assert.equal(vx.mtu, mtu);
    assert.equal(vx.linkinfo.info_slave_kind, 'bridge');
    assert.equal(vx.linkinfo.info_slave_data.learning, false);
    assert.equal(vx.linkinfo.info_slave_data.neigh_suppress, true);
    const br = host.link(`br${vni}`);
    assert.ok(br, `${host.name}: br${vni} missing`);
    assert.equal(br.linkinfo.info_kind, 'bridge');
    assert.ok(br.flags.includes('UP'), `${host.name}: br${vni} is not up`);
    return { vxlan: vx.ifindex, bridge: br.ifindex };
  }

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    await startServer().waitForLog((r) => r.msg === 'server ready');
    joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr(), dataDir('server'), hosts.length);
    await Promise.all(hosts.map((h) => startAgent(h).waitForLog((r) => r.msg === 'connected to server')));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && lab)
      console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });

  after(async () => {
    await lab?.destroy();
    for (const dir of dataDirs.values()) removeTempDir(dir);
  });

  it('creates vxlan42 (id, dstport, local = VTEP, nolearning) under br42, up, on every host', async () => {
    ctl('vni', 'create', '42');
    for (const host of hosts) await eventually(() => assertRealised(host, 42));
  });

  it('shows every host ready for the VNI in ctl vni show', async () => {
    await eventually(() => {
      const shown = JSON.parse(ctl('-o', 'json', 'vni', 'show', '42'));
      assert.deepEqual(
        shown.nodes.map((n: { node: string; devicesReady: boolean }) => [n.node, n.devicesReady]),
        [
          ['h1', true],
          ['h2', true],
          ['h3', true],
        ],
      );
    });
  });

  it("serves each agent's CNI and Docker plugin sockets in its own host's directory, as on machines of their own", () => {
    for (const host of hosts) {
      for (const socket of ['cni.sock', path.join('docker-plugins', 'vxgossip.sock')])
        assert.ok(fs.lstatSync(path.join(host.localSocketDir, socket)).isSocket(), `${host.name}: ${socket}`);
    }
  });

  it('leaves devices untouched across an agent restart (SIGTERM and kill -9): same ifindex', async () => {
    const h1 = hosts[0];
    const before = assertRealised(h1, 42);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await agents.get('h1')!.stop(signal);
      assert.deepEqual(assertRealised(h1, 42), before, 'devices must survive the agent stopping');
      const agent = startAgent(h1);
      await agent.waitForLog((r) => r.msg === 'connected to server');
      await agent.waitForLog((r) => r.msg === 'reconciled');
      assert.deepEqual(assertRealised(h1, 42), before);
      assert.ok(
        // Device writes only: 'local records changed' (records re-issued in the new incarnation) is
        // gossip state, and a slower TLS connect lets it land before this check.
        !agent.logRecords().some((r) => /^(created|recreating|changed device)/.test(r.msg)),
        `the restarted agent wrote to the kernel:\n${agent.tail()}`,
      );
    }
  });

  it('applies an MTU change in place (same ifindex)', async () => {
    const before = hosts.map((h) => assertRealised(h, 42));
    ctl('vni', 'update', '42', '--mtu', '1400');
    for (const [i, host] of hosts.entries())
      await eventually(() => assert.deepEqual(assertRealised(host, 42, 1400), before[i]));
    ctl('vni', 'update', '42', '--mtu', 'auto');
    for (const host of hosts) await eventually(() => assertRealised(host, 42, 1450));
  });

  it('repairs a device deleted or changed behind its back', async () => {
    const h2 = hosts[1];
    h2.exec('ip', ['link', 'del', 'vxlan42']);
    h2.exec('ip', ['link', 'set', 'br42', 'down']);
    // The periodic pass repairs it; a VNI change triggers a pass at once.
    ctl('vni', 'create', '43');
    await eventually(() => assertRealised(h2, 42), 40_000);
  });

  it('reports a VNI whose device name is taken by another kind of link, and keeps serving the others', async () => {
    const h1 = hosts[0];
    h1.exec('ip', ['link', 'add', 'vxlan77', 'type', 'bridge']);
    ctl('vni', 'create', '77');
    ctl('vni', 'create', '78');
    await eventually(() => assertRealised(h1, 78));
    await eventually(() => {
      const shown = JSON.parse(ctl('-o', 'json', 'vni', 'show', '77'));
      const h1Status = shown.nodes.find((n: { node: string }) => n.node === 'h1');
      assert.equal(h1Status.devicesReady, false);
      assert.match(h1Status.error, /vxlan77 already exists as a bridge link, not vxlan/);
      assert.ok(
        shown.nodes.filter((n: { devicesReady: boolean }) => n.devicesReady).length === 2,
        'h2 and h3 realise VNI 77',
      );
    });
    // The status reaches the server before the log line reaches us; wait for it.
    await agents
      .get('h1')!
      .waitForLog((r) => r.level === 'error' && r.vni === 77 && /vxlan77 already exists/.test(String(r.error)));
    assert.equal(h1.link('vxlan77')?.linkinfo?.info_kind, 'bridge', 'the operator link is left alone');
  });

  it('removes the devices when the VNI is deleted, and nothing it does not own', async () => {
    for (const vni of ['42', '43', '77', '78']) ctl('vni', 'delete', vni);
    for (const host of hosts) {
      await eventually(() => {
        for (const name of ['vxlan42', 'br42', 'vxlan43', 'br43', 'vxlan78', 'br78'])
          assert.equal(host.link(name), undefined, `${host.name}: ${name} still there`);
      });
    }
    assert.equal(hosts[0].link('vxlan77')?.linkinfo?.info_kind, 'bridge', 'the operator link survives the sweep');
  });

  it('keeps serving from its cached configuration while the server is down, and resyncs when it returns', async () => {
    ctl('vni', 'create', '50');
    for (const host of hosts) await eventually(() => assertRealised(host, 50));
    await server.stop('SIGKILL');
    const h3 = hosts[2];
    const before = assertRealised(h3, 50);
    await agents.get('h3')!.stop('SIGKILL');
    const agent = startAgent(h3);
    await agent.waitForLog((r) => r.msg === 'reconciled');
    assert.deepEqual(assertRealised(h3, 50), before, 'devices stay right from the cache without the server');
    await startServer().waitForLog((r) => r.msg === 'server ready');
    await agent.waitForLog((r) => r.msg === 'connected to server', 30_000);
    ctl('vni', 'delete', '50');
    for (const host of hosts) await eventually(() => assert.equal(host.link('vxlan50'), undefined), 30_000);
  });
});
