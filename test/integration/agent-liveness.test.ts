import { strict as assert } from 'node:assert';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { createJoinToken, operatorArgs } from '../../lab/credentials';

const LOSS_MINUTES = 5;

// An agent is not its host (three hosts in namespaces, real vxlan): a host whose agent is down keeps
// forwarding and keeps its entries everywhere; a host that is gone, or unreachable from one host only,
// is withdrawn where it cannot be reached, within seconds; random loss withdraws nothing.
describe('an agent is not its host (3 hosts, real vxlan)', function () {
  this.timeout(600_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  const agents = new Map<string, ManagedProcess>();
  const dataDirs = new Map<string, string>();
  const endpoints = new Map<string, { netns: string; ip: string }>();
  const serverAddr = () => `${ctrl.ip}:50051`;
  let serverDir = '';
  let joinToken = '';

  const ctl = (...args: string[]) => {
    const r = ctrl.ctl([...operatorArgs(serverAddr(), serverDir), ...args]);
    assert.equal(r.status, 0, `ctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  function startAgent(host: LabHost): ManagedProcess {
    const dir = dataDirs.get(host.name) ?? makeTempDir(`agent-${host.name}`);
    dataDirs.set(host.name, dir);
    const join = hosts
      .filter((h) => h !== host)
      .map((h) => `${h.ip}:7946`)
      .join(',');
    const agent = host.spawnBin('agent', 'node-agent', [
      ...['--name', host.name, '--vtep', host.ip, '--server', serverAddr(), '--data-dir', dir],
      ...['--join', join, '--join-token', joinToken, '--metrics', '127.0.0.1:9746'],
    ]);
    agents.set(host.name, agent);
    return agent;
  }

  const remoteDsts = (host: LabHost) =>
    (JSON.parse(host.exec('bridge', ['-j', 'fdb', 'show', 'dev', 'vxlan42']) || '[]') as Array<{ dst?: string }>)
      .map((e) => e.dst)
      .filter((d): d is string => d !== undefined);
  const forwardsTo = (host: LabHost, to: LabHost) => remoteDsts(host).includes(to.ip);
  const nodeState = (name: string) =>
    (JSON.parse(ctl('-o', 'json', 'node', 'list')) as Array<{ name: string; state: string }>).find(
      (n) => n.name === name,
    )?.state;

  // A ping from one endpoint to another at `perSecond`, for `seconds`; resolves with what it lost.
  function pingFor(from: string, to: string, seconds: number, perSecond = 10) {
    const count = seconds * perSecond;
    const pinger = lab.spawnIn(endpoints.get(from)!.netns, 'ping', 'ping', [
      ...['-D', '-O', '-i', String(1 / perSecond), '-c', String(count), '-W', '1'],
      endpoints.get(to)!.ip.split('/')[0],
    ]);
    return pinger.exited.then(() => {
      const summary = /(\d+) packets transmitted, (\d+) received/.exec(pinger.logs());
      assert.ok(summary, pinger.logs());
      return { sent: Number(summary[1]), lost: Number(summary[1]) - Number(summary[2]) };
    });
  }

  // Packets between two hosts' underlay addresses dropped (at `on`), or all of them one in ten.
  const nft = (host: LabHost, commands: string) => {
    const r = lab.execIn(host.netns, 'nft', [commands]);
    assert.equal(r.status, 0, `nft on ${host.name}: ${r.stderr}`);
  };
  const dropBetween = (on: LabHost, peer: LabHost) =>
    nft(
      on,
      `add table inet cut; add chain inet cut input { type filter hook input priority 0; }; ` +
        `add chain inet cut output { type filter hook output priority 0; }; ` +
        `add rule inet cut input ip saddr ${peer.ip} drop; add rule inet cut output ip daddr ${peer.ip} drop`,
    );
  const lossy = (on: LabHost) =>
    nft(
      on,
      `add table inet loss; add chain inet loss input { type filter hook input priority 0; }; ` +
        `add rule inet loss input iifname "eth0" numgen random mod 10 0 drop`,
    );
  const heal = (on: LabHost, table: string) => nft(on, `delete table inet ${table}`);
  // Every 'host state' an agent logged since `from` log lines, as "peer:state".
  const hostStates = (host: LabHost, from = 0) =>
    agents
      .get(host.name)!
      .logRecords()
      .slice(from)
      .filter((r) => r.msg === 'host state')
      .map((r) => `${String(r.peer)}:${String(r.state)}`);

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2', ping: 'iputils-ping', nft: 'nftables' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    serverDir = makeTempDir('server');
    await ctrl
      .spawnBin('server', 'server', ['--listen', serverAddr(), '--data-dir', serverDir])
      .waitForLog((r) => r.msg === 'server ready');
    joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr(), serverDir, hosts.length);
    await Promise.all(hosts.map((h) => startAgent(h).waitForLog((r) => r.msg === 'connected to server')));
    await Promise.all(
      hosts.map((h) => agents.get(h.name)!.waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000)),
    );
    ctl('vni', 'create', '42');
    for (const [i, h] of hosts.entries()) {
      const netns = lab.namespace(`ep${i + 1}`);
      ctl('endpoint', 'attach', '--node', h.name, '--vni', '42', '--netns', netns, '--ip', `10.42.0.${i + 1}/24`);
      endpoints.set(`ep${i + 1}`, { netns, ip: `10.42.0.${i + 1}/24` });
    }
    await eventually(() => {
      for (const h of hosts) assert.equal(remoteDsts(h).filter((d) => d !== h.ip).length >= 4, true, h.name);
    }, 30_000);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && lab)
      console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });

  after(async () => {
    await lab?.destroy();
    for (const dir of [serverDir, ...dataDirs.values()]) if (dir) removeTempDir(dir);
  });

  it('loses no ping while an agent is down for 60 s (kill -9) and shows it as agent-down', async () => {
    const h2 = hosts[1];
    const pinging = pingFor('ep1', 'ep2', 70);
    await new Promise((r) => setTimeout(r, 1000));
    await agents.get(h2.name)!.stop('SIGKILL');
    await eventually(() => assert.equal(nodeState('h2'), 'agent-down'), 30_000, 500);
    assert.ok(forwardsTo(hosts[0], h2) && forwardsTo(hosts[2], h2), 'h2 still programmed on h1 and h3');
    await new Promise((r) => setTimeout(r, 59_000 - 1000));
    await startAgent(h2).waitForLog((r) => r.msg === 'reconciled', 30_000);
    const { sent, lost } = await pinging;
    assert.equal(lost, 0, `${lost} of ${sent} pings lost`);
  });

  it('loses no ping while an agent crash-loops (killed every 3 s for 30 s)', async () => {
    const h2 = hosts[1];
    const pinging = pingFor('ep1', 'ep2', 36);
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 3000));
      await agents.get(h2.name)!.stop('SIGKILL');
      startAgent(h2);
    }
    await agents.get(h2.name)!.waitForLog((r) => r.msg === 'reconciled', 30_000);
    const { sent, lost } = await pinging;
    assert.equal(lost, 0, `${lost} of ${sent} pings lost`);
  });

  it('withdraws a host only where it cannot be reached (a drop between h1 and h3 only)', async () => {
    const [h1, h2, h3] = hosts;
    await eventually(() => assert.equal(nodeState('h3'), 'alive'), 30_000, 500);
    dropBetween(h1, h3);
    try {
      await eventually(() => assert.ok(!forwardsTo(h1, h3), 'h1 withdrew h3'), 30_000, 100);
      assert.ok(forwardsTo(h2, h3), 'h2, which reaches h3, keeps it');
    } finally {
      heal(h1, 'cut');
    }
    await eventually(() => assert.ok(forwardsTo(h1, h3), 'h1 has h3 back'), 30_000, 100);
  });

  it(`withdraws nothing under 10 % random loss on every underlay for ${LOSS_MINUTES} minutes`, async () => {
    const logged = new Map(hosts.map((h) => [h.name, agents.get(h.name)!.logRecords().length]));
    for (const h of hosts) lossy(h);
    try {
      const { sent, lost } = await pingFor('ep1', 'ep3', LOSS_MINUTES * 60);
      // A round trip crosses two lossy hosts: 19 % expected; more means entries went missing.
      assert.ok(lost / sent < 0.24, `${lost} of ${sent} pings lost`);
    } finally {
      for (const h of hosts) heal(h, 'loss');
    }
    for (const h of hosts) {
      const withdrawn = hostStates(h, logged.get(h.name)).filter((s) => /:(dead|left)$/.test(s));
      assert.deepEqual(withdrawn, [], `${h.name} withdrew a host`);
    }
  });

  it('withdraws a host whose underlay link is cut within seconds, and restores it when the link returns', async () => {
    const [h1, h2, h3] = hosts;
    const logged = new Map([h1, h2].map((h) => [h.name, agents.get(h.name)!.logRecords().length]));
    lab.setLink(h3.name, false);
    try {
      await eventually(() => assert.ok(!forwardsTo(h1, h3) && !forwardsTo(h2, h3), 'withdrawn on h1 and h2'), 4000, 50);
    } finally {
      lab.setLink(h3.name, true);
    }
    // Whichever of h1 and h2 probed h3 first told the other, instead of leaving it to gossip's suspicion.
    const told = [h1, h2].filter((h) =>
      agents
        .get(h.name)!
        .logRecords()
        .slice(logged.get(h.name))
        .some((r) => r.msg === 'told peers that our probes of a VTEP go unanswered' && r.subject === h3.name),
    );
    assert.ok(told.length > 0, 'neither h1 nor h2 told the other that h3 does not answer');
    await eventually(() => assert.ok(forwardsTo(h1, h3) && forwardsTo(h2, h3), 'back on h1 and h2'), 20_000, 100);
  });

  it('withdraws a host that is gone (agent killed, namespace removed) on every other host within seconds', async () => {
    const [h1, h2, h3] = hosts;
    await lab.removeHost(h3.name);
    await eventually(() => assert.ok(!forwardsTo(h1, h3) && !forwardsTo(h2, h3), 'withdrawn on h1 and h2'), 4000, 50);
    await eventually(() => assert.equal(nodeState('h3'), 'dead'), 30_000, 500);
  });
});
