import { strict as assert } from 'node:assert';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { metricValue } from '../helpers/refusal-metrics';
import { createJoinToken, operatorArgs } from '../../lab/credentials';

const MAC = '02:00:5e:00:00:d1';

interface FdbJson {
  vni: number;
  mac: string;
  vtep: string;
  node: string;
  frozen: boolean;
}

// One MAC attached on two hosts is a duplicate: it bounces between them until a claimant freezes it.
// While frozen, every host's kernel, the server's view and ctl name the same VTEP and say frozen;
// the freeze ends after its time (the thawed host's claim is the last and wins everywhere) or when an
// operator clears it.
describe('duplicate MACs: detected, frozen alike everywhere, thawed, cleared (3 hosts, real vxlan)', function () {
  this.timeout(180_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  const agents = new Map<string, ManagedProcess>();
  const agentDirs = new Map<string, string>();
  const dataDirs: string[] = [];
  let joinToken = '';
  const serverAddr = () => `${ctrl.ip}:50051`;
  let serverDir = '';
  const FREEZE_S = 15;
  const namespaces = new Map<string, string>();
  // Which claimant froze first (F) and which won (W), as the first test finds them.
  let frozenBy: string;
  let winner: string;

  const ctl = (...args: string[]) => {
    const r = ctrl.ctl([...operatorArgs(serverAddr(), serverDir), ...args]);
    assert.equal(r.status, 0, `ctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const served = () =>
    JSON.parse(ctl('-o', 'json', 'fdb', 'show', '--vni', '42', '--mac', MAC, '--no-flood')) as FdbJson[];
  const duplicates = () =>
    JSON.parse(ctl('-o', 'json', 'fdb', 'dup', 'list')) as Array<{
      entry: FdbJson;
      claims: Array<{ node: string; frozen: boolean }>;
    }>;
  const kernelDst = (h: LabHost) =>
    (
      JSON.parse(h.exec('bridge', ['-j', 'fdb', 'show', 'dev', 'vxlan42']) || '[]') as Array<{
        mac: string;
        dst?: string;
      }>
    ).find((e) => e.mac === MAC && e.dst)?.dst;
  const host = (name: string) => hosts.find((h) => h.name === name)!;
  // The agent's frozen MACs (a gauge per VNI), summed, scraped from inside its namespace.
  const frozenGauge = (h: LabHost) => {
    const text = h.exec(process.execPath, [
      '-e',
      "fetch('http://127.0.0.1:9746/metrics').then(async (r) => process.stdout.write(await r.text()))",
    ]);
    return metricValue(text, 'vxgossip_fdb_frozen_macs') ?? NaN;
  };
  const logged = (name: string, msg: string) =>
    agents
      .get(name)!
      .logRecords()
      .filter((r) => r.msg === msg);
  const freezes = (name: string) =>
    logged(name, 'duplicate MAC: it keeps moving between hosts; frozen, this host stops contesting it').length;

  // Every view names `winner`: the server (ctl), the other claimant's kernel and the observer's.
  function assertAllPointAt(winner: string, frozen: boolean): void {
    const entries = served();
    assert.equal(entries.length, 1, JSON.stringify(entries));
    assert.equal(entries[0].node, winner, `ctl fdb show: ${JSON.stringify(entries[0])}`);
    assert.equal(entries[0].vtep, host(winner).ip);
    assert.equal(entries[0].frozen, frozen, `ctl fdb show says frozen=${entries[0].frozen}`);
    for (const h of hosts.filter((x) => x.name !== winner))
      assert.equal(kernelDst(h), host(winner).ip, `${h.name}'s kernel points ${MAC} at ${kernelDst(h)}`);
  }

  function attach(h: LabHost, ip: string): void {
    namespaces.set(h.name, lab.namespace(`ep-${h.name}`));
    ctl(
      'endpoint',
      'attach',
      '--node',
      h.name,
      '--vni',
      '42',
      '--netns',
      namespaces.get(h.name)!,
      '--ip',
      ip,
      '--mac',
      MAC,
    );
  }

  function startAgent(h: LabHost): ManagedProcess {
    let dir = agentDirs.get(h.name);
    if (!dir) {
      dir = makeTempDir(`agent-${h.name}`);
      dataDirs.push(dir);
      agentDirs.set(h.name, dir);
    }
    const join = hosts
      .filter((x) => x !== h)
      .map((x) => `${x.ip}:7946`)
      .join(',');
    const agent = h.spawnBin('agent', 'node-agent', [
      '--name',
      h.name,
      '--vtep',
      h.ip,
      '--server',
      serverAddr(),
      '--data-dir',
      dir,
      '--join',
      join,
      '--metrics',
      '127.0.0.1:9746',
      '--dup-max-moves',
      '3',
      '--dup-window',
      '10m',
      '--dup-freeze-time',
      `${FREEZE_S}s`,
      '--join-token',
      joinToken,
    ]);
    agents.set(h.name, agent);
    return agent;
  }

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    serverDir = makeTempDir('server');
    dataDirs.push(serverDir);
    await ctrl
      .spawnBin('server', 'server', ['--listen', serverAddr(), '--data-dir', serverDir])
      .waitForLog((r) => r.msg === 'server ready');
    joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr(), serverDir, hosts.length);
    await Promise.all(hosts.map((h) => startAgent(h).waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000)));
    ctl('vni', 'create', '42');
    for (const h of hosts) await eventually(() => assert.ok(h.link('br42')), 20_000);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && lab)
      console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });

  after(async () => {
    await lab?.destroy();
    for (const dir of dataDirs) removeTempDir(dir);
  });

  it('freezes the contested MAC where every host and the server agree, and says frozen everywhere', async () => {
    attach(host('h1'), '10.42.0.1/24');
    await eventually(() => assert.equal(kernelDst(host('h2')), host('h1').ip), 10_000);
    // A MAC another host announces is not attached (ALREADY_EXISTS): the duplicate comes about as it
    // does in life, attached on h2 while h1's agent was away, h1 coming back with it.
    await agents.get('h1')!.stop('SIGINT');
    await eventually(() => {
      assert.deepEqual(served(), [], 'the server withdrew what h1 announced');
      assert.equal(kernelDst(host('h2')), undefined, 'h2 withdrew what h1 announced');
    }, 10_000);
    attach(host('h2'), '10.42.0.2/24');
    await startAgent(host('h1')).waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000);
    const [dup] = await eventually(() => {
      const list = duplicates();
      assert.equal(list.length, 1, 'one duplicate listed');
      return list;
    }, 20_000);
    assert.equal(dup.entry.mac, MAC);
    const frozen = dup.claims.filter((c) => c.frozen).map((c) => c.node);
    assert.equal(frozen.length, 1, `one claimant froze it: ${JSON.stringify(dup.claims)}`);
    [frozenBy, winner] = [frozen[0], frozen[0] === 'h1' ? 'h2' : 'h1'];
    assert.deepEqual(dup.claims.map((c) => c.node).sort(), ['h1', 'h2']);
    assert.equal(dup.entry.node, winner, 'the claimant that froze stopped contesting; the other one is served');
    await eventually(() => assertAllPointAt(winner, true), 10_000);
    // Frozen means it stays put: no flapping afterwards.
    await new Promise((r) => setTimeout(r, 2_000));
    assertAllPointAt(winner, true);
    await eventually(() => assert.equal(freezes(frozenBy), 1, 'one log line per freeze, not one per pass'), 5_000);
    assert.equal(frozenGauge(host(frozenBy)), 1, 'the metric counts the frozen MAC');
    assert.equal(frozenGauge(host(winner)), 0);
    assert.equal(freezes(winner), 0);
  });

  it('thaws after the freeze time: the thawed claim is the last and wins everywhere', async () => {
    await eventually(() => assertAllPointAt(frozenBy, true), (FREEZE_S + 15) * 1000);
    // Log lines arrive through a pipe, a moment after what they report.
    await eventually(
      () => assert.equal(logged(frozenBy, 'duplicate MAC thawed: this host contests it again').length, 1),
      5_000,
    );
    const [dup] = duplicates();
    assert.deepEqual(
      dup.claims.map((c) => [c.node, c.frozen]).sort(),
      [
        [frozenBy, false],
        [winner, true],
      ].sort(),
      'the duplicate is still there: the other claimant froze in turn',
    );
    await eventually(() => assert.equal(freezes(winner), 1), 5_000);
  });

  it('ctl fdb dup clear thaws at once, after the operator removed the duplicate', async () => {
    // The operator removes the copy that now wins; the other claim is alone but frozen until thawed.
    ctl('endpoint', 'detach', '--node', frozenBy, '--vni', '42', '--netns', namespaces.get(frozenBy)!);
    await eventually(() => assertAllPointAt(winner, true), 10_000);
    assert.match(
      ctl('fdb', 'dup', 'clear', '--vni', '42', '--mac', MAC),
      new RegExp(`cleared ${MAC} in VNI 42 on ${winner}`),
    );
    await eventually(() => assertAllPointAt(winner, false), 3_000);
    assert.deepEqual(duplicates(), []);
    await eventually(
      () => assert.equal(logged(winner, 'duplicate MAC cleared by an operator: this host contests it again').length, 1),
      5_000,
    );
    assert.equal(
      logged(winner, 'duplicate MAC thawed: this host contests it again').length,
      0,
      'the clear, not the freeze time, thawed it',
    );
    const again = ctrl.ctl([
      ...operatorArgs(serverAddr(), serverDir),
      'fdb',
      'dup',
      'clear',
      '--vni',
      '42',
      '--mac',
      MAC,
    ]);
    assert.equal(again.status, 1, 'nothing frozen any more');
    assert.match(again.stderr, /no connected agent holds/);
  });
});
