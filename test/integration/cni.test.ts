import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { LabHost, LabNetwork } from '../../lab/network';
import { LabCluster } from '../../lab/lab-cluster';
import { eventually } from '../../lab/eventually';
import { makeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { tearDownLab } from '../helpers/lab-teardown';
import { PluginRun, cniConfig, runCniPlugin } from '../helpers/cni-runtime';

interface Container {
  id: string;
  host: LabHost;
  vni: number;
  netns: string;
  // The result of its ADD.
  result: Record<string, unknown>;
}

const addressOf = (c: Container) => (c.result.ips as Array<{ address: string }>)[0].address.split('/')[0];

// The plugin driven as a runtime drives it (environment, config on stdin, JSON on stdout) against the
// agents of two lab hosts: containers of an L2 and an L3 VNI reach each other across hosts; CHECK,
// DEL (also with the agent down, replayed when it starts) and GC; bad input answered with CNI codes.
describe('CNI plugin: ADD/CHECK/DEL/GC across two hosts (real kernel, issue #16)', function () {
  this.timeout(300_000);
  let lab: LabNetwork;
  let cluster: LabCluster;
  let h1: LabHost;
  let h2: LabHost;
  const dir = makeTempDir('cni');
  const containers = new Map<string, Container>();

  const env = (command: string, c: { id: string; netns?: string }) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: c.id,
    CNI_IFNAME: 'eth0',
    CNI_NETNS: c.netns ?? '',
  });
  const plugin = (host: LabHost, command: string, c: { id: string; netns?: string }, vni: number, over = {}) =>
    runCniPlugin(host, env(command, c), cniConfig(cluster, host, vni, over));

  function add(id: string, host: LabHost, vni: number): Container {
    const netns = `/run/netns/${lab.namespace(id)}`;
    const out = plugin(host, 'ADD', { id, netns }, vni);
    assert.equal(out.status, 0, `ADD ${id}: ${JSON.stringify(out.json)} ${out.stderr}`);
    const c = { id, host, vni, netns, result: out.json! };
    containers.set(id, c);
    return c;
  }
  const pings = (from: Container, to: Container) =>
    lab.execIn(from.netns.replace('/run/netns/', ''), 'ping', ['-c', '1', '-W', '1', addressOf(to)]).status === 0;
  const failsWith = (out: PluginRun, code: number, message: RegExp) => {
    assert.equal(out.status, 1, JSON.stringify(out));
    assert.equal(out.json?.code, code, JSON.stringify(out.json));
    assert.match(String(out.json?.msg), message);
  };

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', ping: 'iputils-ping' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    cluster = await LabCluster.start(lab, dir);
    [h1, h2] = cluster.hosts;
    cluster.ctl('vni', 'create', '42', '--subnet', '10.42.0.0/24');
    cluster.ctl('vni', 'create', '100', '--mode', 'l3', '--subnet', '10.100.0.0/24');
    for (const h of cluster.hosts) await eventually(() => assert.ok(h.link('br42') && h.link('vxl3-8472')), 20_000);
  });

  tearDownLab(() => lab, dir);

  it('ADD attaches containers of an L2 and an L3 VNI on both hosts, and they reach each other across hosts', async () => {
    const a = add('ca', h1, 42);
    const b = add('cb', h2, 42);
    const c = add('cc', h1, 100);
    const d = add('cd', h2, 100);
    assert.notEqual(addressOf(a), addressOf(b));
    assert.deepEqual(c.result.routes, [{ dst: '0.0.0.0/0', gw: '10.100.0.1' }]);
    const ifaces = a.result.interfaces as Array<{ name: string; sandbox?: string }>;
    assert.equal(ifaces[1].sandbox, a.netns);
    assert.equal(h1.link(ifaces[0].name)?.master, 'br42', 'the host side is a port of the VNI bridge');
    for (const [x, y] of [
      [a, b],
      [b, a],
      [c, d],
      [d, c],
    ])
      await eventually(() => assert.ok(pings(x, y), `${x.id} -> ${y.id}`), 30_000, 500);
    assert.ok(!pings(a, c) && !pings(a, d), 'VNIs stay apart');
    // Announced like any other endpoint: the server lists it.
    const mac = (a.result.interfaces as Array<{ mac: string }>)[1].mac;
    await eventually(() => assert.match(cluster.ctl('endpoint', 'list', '--vni', '42'), new RegExp(mac)), 20_000);
  });

  it("CHECK passes for ADD's result and fails (code 102) once the container's address is gone", () => {
    const a = containers.get('ca')!;
    const check = () => plugin(h1, 'CHECK', a, 42, { prevResult: a.result });
    assert.equal(check().status, 0, JSON.stringify(check().json));
    lab.execIn(a.netns.replace('/run/netns/', ''), 'ip', ['addr', 'flush', 'dev', 'eth0']);
    failsWith(check(), 102, /lacks its address/);
  });

  it('DEL removes the attachment and is idempotent, with or without the namespace', async () => {
    const b = containers.get('cb')!;
    const veth = (b.result.interfaces as Array<{ name: string }>)[0].name;
    assert.equal(plugin(h2, 'DEL', b, 42, { prevResult: b.result }).status, 0);
    assert.equal(h2.link(veth), undefined);
    assert.equal(plugin(h2, 'DEL', b, 42).status, 0);
    assert.equal(plugin(h2, 'DEL', { id: 'cb' }, 42).status, 0, 'no CNI_NETNS');
    failsWith(plugin(h2, 'CHECK', b, 42), 3, /no attachment of cb\/eth0/);
  });

  it('GC releases every attachment of the network the runtime does not list', () => {
    const e = add('ce', h1, 100);
    const c = containers.get('cc')!;
    const vethOf = (x: Container) => (x.result.interfaces as Array<{ name: string }>)[0].name;
    const valid = [{ containerID: 'ce', ifname: 'eth0' }];
    const out = runCniPlugin(
      h1,
      { CNI_COMMAND: 'GC' },
      cniConfig(cluster, h1, 100, { 'cni.dev/valid-attachments': valid }),
    );
    assert.equal(out.status, 0, JSON.stringify(out.json));
    assert.equal(h1.link(vethOf(c)), undefined, 'cc was not listed');
    assert.ok(h1.link(vethOf(e)), 'ce was listed');
    assert.ok(
      h1.link((containers.get('ca')!.result.interfaces as Array<{ name: string }>)[0].name),
      'VNI 42 untouched',
    );
  });

  it('refuses an unknown VNI and a config without one with code 7', () => {
    const netns = `/run/netns/${lab.namespace('cx')}`;
    failsWith(plugin(h1, 'ADD', { id: 'cx', netns }, 77), 7, /VNI 77 is not configured.*ctl vni create 77/);
    failsWith(plugin(h1, 'ADD', { id: 'cx', netns }, 42, { vni: undefined }), 7, /vni: missing/);
  });

  it('STATUS is 0 while the agent is ready; with the agent stopped STATUS is 50, ADD 11, and DEL is queued, then replayed at start', async () => {
    assert.equal(runCniPlugin(h2, { CNI_COMMAND: 'STATUS' }, cniConfig(cluster, h2, 100)).status, 0);
    const d = containers.get('cd')!;
    const veth = (d.result.interfaces as Array<{ name: string }>)[0].name;
    await cluster.agent(h2).stop('SIGTERM');
    failsWith(runCniPlugin(h2, { CNI_COMMAND: 'STATUS' }, cniConfig(cluster, h2, 100)), 50, /not reachable/);
    const netns = `/run/netns/${lab.namespace('cy')}`;
    failsWith(plugin(h2, 'ADD', { id: 'cy', netns }, 100), 11, /not reachable at .*start the agent/);
    assert.equal(plugin(h2, 'DEL', d, 100, { prevResult: d.result }).status, 0);
    assert.equal(fs.readdirSync(cluster.cniDeleteQueue(h2)).length, 1, 'queued');
    assert.ok(h2.link(veth), 'nothing deleted while the agent is down');
    await cluster.startAgent(h2).waitForLog((r) => r.msg === 'serving the CNI plugin', 30_000);
    assert.equal(h2.link(veth), undefined, 'replayed before the socket was served');
    assert.deepEqual(fs.readdirSync(cluster.cniDeleteQueue(h2)), []);
    // The agent serves again: the next container is attached and reached across hosts.
    const f = add('cf', h2, 100);
    await eventually(() => assert.ok(pings(containers.get('ce')!, f), 'ce -> cf'), 30_000, 500);
  });

  it('attaches from the blocks a host holds while the server is down; a host without a block says so', async () => {
    await cluster.server.stop('SIGTERM');
    try {
      // Both hosts hold a block of VNI 100 (ce, cf): their new containers get addresses from it.
      const s1 = add('cs1', h1, 100);
      const s2 = add('cs2', h2, 100);
      assert.notEqual(addressOf(s1), addressOf(s2));
      await eventually(() => assert.ok(pings(s1, s2), 'cs1 -> cs2'), 30_000, 500);
      // h2 gave its only block of VNI 42 back when cb went: another needs the server.
      const netns = `/run/netns/${lab.namespace('cz')}`;
      failsWith(plugin(h2, 'ADD', { id: 'cz', netns }, 42), 11, /server/);
    } finally {
      await cluster.startServer();
    }
  });
});
