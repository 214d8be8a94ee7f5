import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../helpers/eventually';
import { tempDir } from '../helpers/server-process';
import { requirePrograms, requireRoot } from '../helpers/require-root';

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

  const ctl = (...args: string[]) => {
    const r = ctrl.ctl(['--server', serverAddr(), ...args]);
    assert.equal(r.status, 0, `ctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  function startServer(dir?: string): ManagedProcess {
    const dataDir = dir ?? tempDir('server');
    if (!dir) dataDirs.push(dataDir);
    server = ctrl.spawnBin('server', 'server', ['--listen', serverAddr(), '--data-dir', dataDir]);
    return server;
  }

  function startAgent(host: LabHost): ManagedProcess {
    let dir = dataDirs.find((d) => d.includes(`-agent-${host.name}-`));
    if (!dir) {
      dir = tempDir(`agent-${host.name}-`);
      dataDirs.push(dir);
    }
    const join = hosts.filter((h) => h !== host).map((h) => `${h.ip}:7946`).join(',');
    const agent = host.spawnBin('agent', 'node-agent', [
      '--name', host.name, '--vtep', host.ip, '--server', serverAddr(), '--data-dir', dir, '--join', join, '--log-level', 'debug',
    ]);
    agents.set(host.name, agent);
    return agent;
  }

  const ping = (from: string, to: string, count = 1) => lab.execIn(endpoints.get(from)!.netns, 'ping', ['-c', String(count), '-W', '1', '-i', '0.2', endpoints.get(to)!.ip.split('/')[0]]);
  const fdbOf = (host: LabHost, dev: string) => JSON.parse(host.exec('bridge', ['-j', 'fdb', 'show', 'dev', dev]) || '[]') as Array<{ mac: string; dst?: string; flags?: string[] }>;

  async function attach(host: LabHost, name: string, ip: string): Promise<void> {
    const netns = lab.namespace(name);
    const out = JSON.parse(ctl('-o', 'json', 'endpoint', 'attach', '--node', host.name, '--vni', '42', '--netns', netns, '--ip', ip));
    endpoints.set(name, { netns, ip, mac: out.mac });
  }

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2', ping: 'iputils-ping' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3', 'h4']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    await startServer().waitForLog((r) => r.msg === 'server ready');
    await Promise.all(hosts.map((h) => startAgent(h).waitForLog((r) => r.msg === 'connected to server')));
    await Promise.all(hosts.map((h) => agents.get(h.name)!.waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000)));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && lab) console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });

  after(async () => {
    await lab?.destroy();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every endpoint pings every other across hosts', async () => {
    ctl('vni', 'create', '42');
    for (const h of hosts) await eventually(() => assert.ok(h.link("br42")), 20_000);
    for (const [i, h] of hosts.entries()) await attach(h, `ep${i + 1}`, `10.42.0.${i + 1}/24`);
    await eventually(() => {
      for (const h of hosts) {
        const remote = fdbOf(h, 'vxlan42').filter((e) => e.dst && e.mac !== '00:00:00:00:00:00');
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
});
