import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { eventually } from '../../lab/eventually';
import type { ManagedProcess } from '../../lab/managed-process';
import { repoRoot } from '../../common/paths';
import { RogueGossipSpec, spawnRogueGossipMember } from '../../lab/rogue-gossip-member';
import { RogueCredentials, spawnRogueAgent } from '../../lab/rogue-agent-client';
import type { GossipMessage } from '../../generated/vxgossip/v1/GossipMessage';
import {
  configWipe,
  endpointRecord,
  forgedOwnerRecords,
  macClaim,
  membershipRecord,
  records,
  rogueSigner,
  stolenSigner,
  tampered,
  snapshot as gossipSnapshot,
} from '../../lab/rogue-payloads';
import {
  AGENT_METRICS_PORT,
  AttackCluster,
  ClusterOptions,
  VNI,
  Workload,
  bringUpCluster,
} from '../helpers/attack-cluster';
import { snapshot, snapshotDiff } from '../helpers/cluster-snapshot';
import {
  AgentDropReason,
  RefusalScrape,
  ServerRefusalReason,
  assertCounted,
  metricValue,
  scrapeRefusals,
} from '../helpers/refusal-metrics';
import { Findings } from '../helpers/findings';
import { requirePrograms, requireRoot } from '../helpers/require-root';

// How long an attack is given to do its damage before the cluster is compared with its snapshot:
// on a build without the defence every attack here has done it well within this.
const SETTLE_MS = 3_000;
const NODES = ['h1', 'h2', 'h3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The trust model's attacks (see the trust model document and the security issue), replayed from
// rogue processes on a host of the lab against real agents and a real server. Each test snapshots
// every host's kernel, every agent's view and the server's records, runs the attack, and asserts that
// nothing changed, that the overlay still forwards, and that every refusal was counted. Each test
// reports every failed check at once (see Findings), so a run on a build without the defence is the
// record of what each attack does.
describe('attacks from rogue processes are refused (3 hosts and a rogue, real vxlan)', function () {
  this.timeout(150_000);
  let c: AttackCluster | undefined;

  const up = async (options: ClusterOptions = {}) => (c = await bringUpCluster(options));
  const workload = (host: string): Workload => c!.workloads.get(host)!;

  before(function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2', ping: 'iputils-ping', openssl: 'openssl' });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && c) console.error(c.rogue.logsOfProcesses());
    const cluster = c;
    c = undefined;
    await cluster?.destroy();
  });

  // The checks every attack shares, around the attack itself: nothing any host, agent or the server
  // holds changed, and every workload still reaches every other.
  async function replay(f: Findings, attack: () => Promise<void>): Promise<RefusalScrape> {
    const cluster = c!;
    const before = snapshot(cluster);
    const counters = scrapeRefusals(cluster);
    await attack();
    await sleep(SETTLE_MS);
    const diff = snapshotDiff(before, snapshot(cluster));
    await f.check('no kernel, agent or server state changed', () =>
      assert.ok(diff.length === 0, `\n      ${diff.join('\n      ')}`),
    );
    await f.check('every workload still pings every other', () => assertPings(cluster));
    return counters;
  }

  function assertPings(cluster: AttackCluster): void {
    const lost: string[] = [];
    for (const a of NODES)
      for (const b of NODES)
        if (a !== b && !cluster.ping(workload(a), workload(b)) && !cluster.ping(workload(a), workload(b)))
          lost.push(`${a} -> ${b}`);
    assert.ok(lost.length === 0, `pings lost: ${lost.join(', ')}`);
  }

  function assertPointsAt(cluster: AttackCluster, on: string, mac: string, owner: string): void {
    const dst = cluster.kernelDst(cluster.host(on), mac);
    const want = cluster.host(owner).ip;
    assert.ok(dst === want, `${on}'s kernel points ${mac} at ${dst ?? 'nothing'}, not at ${owner} (${want})`);
  }

  async function counted(
    f: Findings,
    before: RefusalScrape,
    daemons: string[],
    reason: AgentDropReason | ServerRefusalReason,
  ): Promise<void> {
    await f.check(`refusal counted (${reason})`, () => assertCounted(before, scrapeRefusals(c!), daemons, reason));
  }

  // A rogue member joins from the rogue host and sends its messages (and answers push/pull with
  // `pushPull`). Resolves once it sent them, or once its join was refused.
  async function rogueGossip(f: Findings, spec: Partial<RogueGossipSpec> & { messages: GossipMessage[] }) {
    const cluster = c!;
    const rogue = spawnRogueGossipMember(cluster.rogue, {
      name: 'rogue',
      bindAddr: cluster.rogue.ip,
      join: cluster.gossipJoin().slice(0, 1),
      vtep: cluster.rogue.ip,
      // An insider: it holds the gossip key (unless the cluster gossips in clear), so only the
      // signatures stand between it and the agents.
      key: cluster.gossipKey,
      ...spec,
    });
    const outcome = await rogue.waitForLog((r) => r.msg === 'rogue sent' || r.msg === 'rogue failed', 20_000);
    if (outcome.msg === 'rogue failed')
      await f.check('the rogue either joined or was refused at the join', () =>
        assert.match(String(outcome.error), /could not join/),
      );
    return rogue;
  }

  // After an attack, what `host` announces must still be believed: an endpoint attached there now
  // (into the namespace `netns`) is created by its agent and reaches every other host.
  async function assertNewAttachSpreads(f: Findings, host: string, netns: string, ip: string): Promise<void> {
    const cluster = c!;
    const attached = cluster.ctlRun(
      '-o',
      'json',
      'endpoint',
      'attach',
      '--node',
      host,
      '--vni',
      String(VNI),
      '--netns',
      netns,
      '--ip',
      `${ip}/24`,
    );
    const link = cluster.lab.execIn(netns, 'ip', ['-j', 'link', 'show', 'eth0']);
    await f.check(`a new attach on ${host} is carried out by ${host}'s agent`, () => {
      assert.ok(attached.status === 0, `ctl endpoint attach: ${attached.stderr}`);
      assert.ok(
        link.status === 0,
        `nothing was created in the namespace, yet the attach answered ${attached.stdout.replace(/\s+/g, ' ')}`,
      );
    });
    if (link.status !== 0) return;
    const mac = (JSON.parse(link.stdout) as Array<{ address: string }>)[0].address;
    const fresh: Workload = { host, netns, ip, mac };
    await f.check(`the new endpoint on ${host} reaches every other host`, () =>
      eventually(() => {
        for (const h of cluster.hosts.filter((x) => x.name !== host)) assertPointsAt(cluster, h.name, mac, host);
        for (const other of NODES.filter((n) => n !== host))
          assert.ok(cluster.ping(workload(other), fresh), `ping ${other} -> new endpoint on ${host}`);
      }, 10_000),
    );
  }

  it('(a) a configuration wipe from a member without the gossip key is not adopted', async () => {
    // Gossip in clear (the opt-out): the rogue reaches the agents' delegates without any key, and
    // only the check of the configuration's signature can refuse it.
    await up({ insecureGossip: true });
    const f = new Findings('(a) configuration wipe without the gossip key');
    const counters = await replay(f, async () => {
      await rogueGossip(f, { messages: [configWipe()], pushPull: configWipe() });
    });
    await counted(f, counters, NODES, 'unsigned-config');
    f.done();
  });

  it('(b) a configuration wipe from a member holding the gossip key is not adopted', async () => {
    await up();
    const f = new Findings('(b) configuration wipe with the gossip key');
    const counters = await replay(f, async () => {
      await rogueGossip(f, { key: c!.gossipKey, messages: [configWipe()], pushPull: configWipe() });
    });
    await counted(f, counters, NODES, 'unsigned-config');
    f.done();
  });

  it("(c) records forged for h2 at maximal versions, with a tombstone of h2's endpoint, change nothing", async () => {
    await up();
    const f = new Findings('(c) forged records for h2');
    const h2 = workload('h2');
    const forged = forgedOwnerRecords(
      'h2',
      c!.host('h2').ip,
      VNI,
      { mac: h2.mac, ips: [`${h2.ip}/24`] },
      '02:00:5e:00:00:c2',
    );
    const counters = await replay(f, async () => {
      // Signed, but with a certificate from the attacker's own CA that names h2.
      const signer = await rogueSigner('h2', c!.host('h2').ip);
      await rogueGossip(f, { messages: [records(forged, signer)], pushPull: gossipSnapshot(forged, signer) });
    });
    // The lasting damage: h2's own announcements must still be believed.
    await assertNewAttachSpreads(f, 'h2', c!.lab.namespace('ws-h2-new'), '10.42.0.22');
    await counted(f, counters, NODES, 'untrusted-certificate');
    f.done();
  });

  it("(d) a claim of h1's workload MAC for the rogue's VTEP does not move it", async () => {
    await up();
    const f = new Findings("(d) MAC hijack of h1's workload");
    const h1 = workload('h1');
    const claim = [macClaim('rogue', c!.rogue.ip, VNI, h1.mac, [`${h1.ip}/24`])];
    const counters = await replay(f, async () => {
      const signer = await rogueSigner('rogue', c!.rogue.ip);
      await rogueGossip(f, { messages: [records(claim, signer)], pushPull: gossipSnapshot(claim, signer) });
    });
    await f.check("h2 and h3 still point h1's MAC at h1", () => {
      for (const h of ['h2', 'h3']) assertPointsAt(c!, h, h1.mac, 'h1');
    });
    await counted(f, counters, NODES, 'untrusted-certificate');
    f.done();
  });

  it('(e) a membership in VNI 42 for the rogue (or for a node that is no member) floods nothing to it', async () => {
    await up();
    const f = new Findings('(e) forged membership in VNI 42');
    const rogueIp = c!.rogue.ip;
    const own = [membershipRecord('rogue', rogueIp, VNI)];
    const ghost = [membershipRecord('ghost', rogueIp, VNI)];
    const counters = await replay(f, async () => {
      const rogue = await rogueSigner('rogue', rogueIp);
      const ghostSigner = await rogueSigner('ghost', rogueIp);
      await rogueGossip(f, {
        messages: [records(own, rogue), records(ghost, ghostSigner)],
        pushPull: gossipSnapshot(own, rogue),
      });
    });
    await f.check("no host floods VNI 42's traffic to the rogue", () => {
      const leaking = c!.hosts.filter((h) => h.exec('bridge', ['fdb', 'show', 'dev', `vxlan${VNI}`]).includes(rogueIp));
      assert.ok(leaking.length === 0, `flood entries to ${rogueIp} on ${leaking.map((h) => h.name).join(', ')}`);
    });
    await counted(f, counters, NODES, 'untrusted-certificate');
    await counted(f, counters, NODES, 'not-a-member');
    f.done();
  });

  // An impostor opens the agent stream as `victim` with `credentials` and replicates a record in its
  // name; it reconnects whenever displaced. The real agent must stay connected, nothing may be stored
  // in the victim's name, and neither a gossip key nor a command may reach the impostor.
  async function impersonation(
    title: string,
    victim: string,
    credentials: RogueCredentials,
    reason: ServerRefusalReason,
  ): Promise<void> {
    const cluster = c!;
    const f = new Findings(title);
    const victimAgent = cluster.agents.get(victim)!;
    const logsFrom = victimAgent.logRecords().length;
    const forgedMac = '02:00:5e:00:00:f2';
    let impostor: ManagedProcess | undefined;
    const counters = await replay(f, async () => {
      impostor = spawnRogueAgent(cluster.rogue, {
        mode: 'agent',
        server: cluster.serverAddr,
        credentials,
        hello: {
          node: victim,
          vtep: cluster.host(victim).ip,
          incarnation: 1,
          agentVersion: 'rogue',
          configRevision: 0,
        },
        records: [
          endpointRecord({
            owner: victim,
            vtep: cluster.host(victim).ip,
            vni: VNI,
            mac: forgedMac,
            ips: ['10.42.0.99/24'],
            incarnation: 1_000_000,
          }),
        ],
        reconnectMs: 100,
      });
      await impostor.waitForLog(
        (r) => r.msg === 'rogue agent accepted' || r.msg === 'rogue agent stream ended',
        10_000,
      );
    });
    const stored = () =>
      cluster
        .ctlJson<any[]>('endpoint', 'list', '--mac', forgedMac)
        .map((e) => `${e.mac} for ${e.node} at ${e.vtep} v=${e.version?.incarnation}.${e.version?.counter}`);
    const displaced = victimAgent
      .logRecords()
      .slice(logsFrom)
      .filter((r) => r.msg === 'server stream down; retrying');
    await f.check(`the real ${victim} stays connected`, () =>
      assert.ok(displaced.length === 0, `${victim}'s agent lost its stream ${displaced.length} times`),
    );
    await f.check(`no record is stored for ${victim} from the impostor`, () =>
      assert.ok(stored().length === 0, `the server stores ${stored().join(', ')}`),
    );
    // A key rotation while the impostor is around (up to three, as an attacker would wait for one).
    for (let i = 0; i < 3 && !received(impostor!, 'installKey'); i++) {
      cluster.ctlRun('keys', 'install', randomBytes(32).toString('base64'));
      await sleep(300);
    }
    await f.check('no gossip key reaches the impostor', () =>
      assert.ok(!received(impostor!, 'installKey'), `the impostor was sent ${received(impostor!, 'installKey')}`),
    );
    await assertNewAttachSpreads(f, victim, cluster.lab.namespace(`ws-${victim}-new`), '10.42.0.22');
    await f.check('no attach reaches the impostor', () =>
      assert.ok(!received(impostor!, 'attach'), `the impostor was sent ${received(impostor!, 'attach')}`),
    );
    await counted(f, counters, ['server'], reason);
    f.done();
  }

  // The first command of a kind the impostor was sent, as it logged it.
  function received(impostor: ManagedProcess, kind: 'installKey' | 'attach'): string | undefined {
    const r = impostor
      .logRecords()
      .find((x) => x.msg === 'rogue agent received a command' && (x.command as { cmd?: string }).cmd === kind);
    return r && `${kind} ${JSON.stringify((r.command as Record<string, unknown>)[kind])} (and answered it)`;
  }

  it('(f) an agent stream opened as the connected h2 without a certificate is refused', async () => {
    await up();
    await impersonation(
      '(f) impersonation of h2 without a certificate',
      'h2',
      c!.credentials('none'),
      'no-certificate',
    );
  });

  it("(g) an agent stream opened as h2 with h3's certificate is refused", async () => {
    await up();
    await impersonation("(g) impersonation of h2 with h3's certificate", 'h2', c!.credentials('h3'), 'name-mismatch');
  });

  it("(h) an agent stream opened as h1 with the operator's certificate is refused", async () => {
    await up();
    await impersonation(
      "(h) impersonation of h1 with the operator's certificate",
      'h1',
      c!.credentials('ctl'),
      'wrong-role',
    );
  });

  it('(i) an agent stream with a certificate from another CA is refused and counted', async () => {
    await up();
    const foreign = path.join(c!.dataDir, 'foreign-ca');
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'dev-ca.sh'), foreign, c!.ctrl.ip, 'h2'], { stdio: 'ignore' });
    const credentials = { ...c!.credentials('none'), cert: `${foreign}/h2.crt`, key: `${foreign}/h2.key` };
    await impersonation(
      '(i) impersonation of h2 with a foreign certificate',
      'h2',
      credentials,
      // TLS does not vouch for a certificate from another CA, so the server sees none at all.
      'no-certificate',
    );
  });

  it("(j) an operator RPC (DeleteVni 42) made with h2's agent certificate is refused", async () => {
    await up();
    const f = new Findings("(j) operator RPC with h2's agent certificate");
    let outcome: Record<string, unknown> = {};
    const counters = await replay(f, async () => {
      const call = spawnRogueAgent(c!.rogue, {
        mode: 'operator',
        server: c!.serverAddr,
        credentials: c!.credentials('h2'),
        call: { rpc: 'deleteVni', vni: VNI },
      });
      outcome = await call.waitForLog((r) => r.msg === 'rogue operator call', 10_000);
    });
    await f.check('the call is refused with PERMISSION_DENIED', () => {
      assert.ok(outcome.done === false, 'DeleteVni 42 was carried out');
      const code = (outcome.refused as { code: grpc.status }).code;
      assert.ok(code === grpc.status.PERMISSION_DENIED, `refused with ${grpc.status[code]}`);
    });
    await counted(f, counters, ['server'], 'wrong-role');
    f.done();
  });

  it('(k) a revoked node is dropped by every peer and refused by the server, its agent still running', async () => {
    await up();
    const f = new Findings('(k) revocation of h3');
    const cluster = c!;
    const counters = scrapeRefusals(cluster);
    const h3 = workload('h3');
    cluster.ctl('node', 'revoke', 'h3');
    await f.check("no host forwards to h3's VTEP any more, unicast or flood", () =>
      eventually(() => {
        for (const h of ['h1', 'h2']) {
          const fdb = cluster.host(h).exec('bridge', ['fdb', 'show', 'dev', `vxlan${VNI}`]);
          assert.ok(!fdb.includes(cluster.host('h3').ip), `${h} still forwards to h3: ${fdb}`);
        }
      }, 15_000),
    );
    await f.check('the server holds nothing of h3', () => {
      const endpoints = cluster.ctlJson<Array<{ node: string }>>('endpoint', 'list');
      assert.ok(!endpoints.some((e) => e.node === 'h3'), 'h3 endpoints listed');
      const nodes = cluster.ctlJson<Array<{ name: string; connected: boolean }>>('node', 'list');
      assert.ok(!nodes.some((n) => n.name === 'h3' && n.connected), 'h3 connected');
    });
    await f.check('h1 and h2 still reach each other', () => {
      assert.ok(cluster.ping(workload('h1'), workload('h2')), 'h1 -> h2');
      assert.ok(!cluster.ping(workload('h1'), h3), 'h1 still reaches h3');
    });
    // h3 keeps offering its records; each peer refuses them (and counts) once anti-entropy asks h3.
    await f.check('refusal counted (revoked) on h1, h2 and the server', () =>
      eventually(() => assertCounted(counters, scrapeRefusals(cluster), ['h1', 'h2', 'server'], 'revoked'), 20_000),
    );
    f.done();
  });

  it('(l) a compromised host announcing a VTEP outside its certificate is refused', async () => {
    await up();
    const f = new Findings('(l) membership with a VTEP h3 is not certified for');
    const cluster = c!;
    const h3Key = stolenSigner(path.join(cluster.dataDir, 'h3', 'identity'), 'h3');
    const lie = [membershipRecord('h3', cluster.rogue.ip, VNI, { incarnation: 1_000, counter: 1 })];
    const counters = await replay(f, async () => {
      await rogueGossip(f, { messages: [records(lie, h3Key)], pushPull: gossipSnapshot(lie, h3Key) });
    });
    await counted(f, counters, ['h1', 'h2'], 'vtep-not-certified');
    f.done();
  });

  it('(n) doubts about every host, flooded, withdraw nothing and make each agent probe within its bound', async () => {
    await up();
    const f = new Findings('(n) a flood of path doubts');
    const cluster = c!;
    const agentMetric = (host: string, name: string, labels: Record<string, string>) =>
      metricValue(cluster.scrape(cluster.host(host), AGENT_METRICS_PORT), name, labels) ?? 0;
    const probesBefore = NODES.map((n) => agentMetric(n, 'vxgossip_vtep_probes_total', { kind: 'sent' }));
    const started = Date.now();
    await replay(f, async () => {
      // Each doubt to every member 20 times a second (as a broadcast and directly): beyond what an
      // agent takes.
      await rogueGossip(f, { messages: NODES.map((n) => ({ pathDoubt: { subject: n } })), resendMs: 50 });
    });
    const seconds = (Date.now() - started) / 1000;
    for (const [i, n] of NODES.entries()) {
      await f.check(`${n} took doubts (it probed), and refused those beyond its rate`, () => {
        assert.ok(agentMetric(n, 'vxgossip_path_doubts_total', { kind: 'taken' }) > 0, 'no doubt taken');
        assert.ok(agentMetric(n, 'vxgossip_path_doubts_total', { kind: 'refused' }) > 0, 'no doubt refused');
      });
      const probes = agentMetric(n, 'vxgossip_vtep_probes_total', { kind: 'sent' }) - probesBefore[i];
      await f.check(`${n} sent at most 200 probes a second`, () =>
        assert.ok(probes <= 200 * (seconds + 1), `${probes} probes in ${seconds.toFixed(1)} s`),
      );
    }
    f.done();
  });

  it('(m) a batch signed by h1 and altered in transit is refused', async () => {
    await up();
    const f = new Findings('(m) tampered batch of h1');
    const cluster = c!;
    const h1 = workload('h1');
    const h1Key = stolenSigner(path.join(cluster.dataDir, 'h1', 'identity'), 'h1');
    const honest = [endpointRecord({ owner: 'h1', vtep: cluster.host('h1').ip, vni: VNI, mac: '02:00:5e:00:00:d1' })];
    const moved = [macClaim('h1', cluster.host('h1').ip, VNI, workload('h2').mac, [`${h1.ip}/24`])];
    const counters = await replay(f, async () => {
      await rogueGossip(f, { messages: [tampered(honest, moved, h1Key)] });
    });
    await counted(f, counters, ['h2', 'h3'], 'bad-signature');
    f.done();
  });
});
