import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bpffsDirFor, releaseBpffsDir } from '../../lab/bpffs-mount';
import { eventually } from '../../lab/eventually';
import { LabHost, LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import {
  MapCodec,
  localEndpointCodec,
  remoteEndpointCodec,
  workloadInterfaceCodec,
} from '../../node-agent/bpf/map-codec';
import { l3RouterMac } from '../../node-agent/kernel/vni-devices';
import { LabCluster } from '../../lab/lab-cluster';
import { tearDownLab } from '../helpers/lab-teardown';
import {
  Workload,
  WorkloadVni,
  attachWorkloads,
  hostVeth,
  pings,
  routesOf,
  rulesOf,
  assertReachWithinVnis,
  leaksAcrossVnis,
  pingOutcome,
} from '../helpers/lab-workloads';
import { requirePrograms, requireRoot } from '../helpers/require-root';

const BPF_PORT = 4790;
const BPF_DEVICE = `vxl3-${BPF_PORT}`;
const LWT_DEVICE = 'vxl3-8472';
const table = (vni: number) => 1_000_000_000 + vni;

// Four VNIs on the BPF datapath (two IPv4, two IPv6) on one port, and one on the lwt datapath on another.
const BPF_VNIS: WorkloadVni[] = [
  { vni: 500, mode: 'l3', subnet: '10.150.0.0/24', host: (i) => `10.150.0.${i}` },
  { vni: 600, mode: 'l3', subnet: '10.160.0.0/24', host: (i) => `10.160.0.${i}` },
  { vni: 700, mode: 'l3', subnet: '2001:db8:700::/64', host: (i) => `2001:db8:700::${i}` },
  { vni: 800, mode: 'l3', subnet: '2001:db8:800::/64', host: (i) => `2001:db8:800::${i}` },
];
const LWT_VNI: WorkloadVni = { vni: 100, mode: 'l3', subnet: '10.100.0.0/24', host: (i) => `10.100.0.${i}` };

type Dumped<K, V> = Array<{ key: K; value: V }>;

// L3 VNIs on the BPF datapath, driven by agents on two hosts: the isolation matrix, what the agent
// programs (maps, programs, no routes) against what bpftool and tc read, repairs of what is changed
// by hand, restarts under a ping, a VNI moving between datapaths, and deletion down to the pins.
describe('L3 VNIs on the BPF datapath: agents on two hosts (real kernel)', function () {
  this.timeout(300_000);
  let lab: LabNetwork | undefined;
  let cluster: LabCluster;
  let h1: LabHost;
  let h2: LabHost;
  let bpffs: string | undefined;
  const dir = makeTempDir('bpf-vnis');
  const workloads: Workload[] = [];
  const workload = (name: string) => workloads.find((w) => w.name === name)!;
  const pinDir = (h: LabHost) => path.join(bpffs!, h.name);
  const ifindex = (h: LabHost, name: string) => h.link(name)!.ifindex as number;

  const dump = <K, V>(h: LabHost, map: string, codec: MapCodec<K, V>): Dumped<K, V> => {
    const out = execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', path.join(pinDir(h), map)], {
      encoding: 'utf8',
    });
    const bytes = (hex: string[]) => Buffer.from(hex.map((b) => parseInt(b, 16)));
    return (JSON.parse(out) as Array<{ key: string[]; value: string[] }>).map((e) => ({
      key: codec.decodeKey(bytes(e.key)),
      value: codec.decodeValue(bytes(e.value)),
    }));
  };
  // `tc filter show ... ingress` of a host's interface: the program's name, or '' for none.
  const programOn = (h: LabHost, device: string) =>
    /bpf .*(from_workload|from_tunnel)/.exec(h.exec('tc', ['filter', 'show', 'dev', device, 'ingress']))?.[1] ?? '';
  const statusOf = (vni: number) =>
    JSON.parse(cluster.ctl('-o', 'json', 'vni', 'show', String(vni))).nodes as Array<{
      node: string;
      desired: number;
      programmed: number;
    }>;
  const counter = (h: LabHost, name: string) => {
    const text = h.exec(process.execPath, [
      '-e',
      `fetch('http://127.0.0.1:9746/metrics').then(async (r) => process.stdout.write(await r.text()))`,
    ]);
    return text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', ping: 'iputils-ping', bpftool: 'bpftool', tc: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    // One BPF filesystem for both agents (as on one machine), mounted before they start.
    bpffs = bpffsDirFor(lab.hosts[0].netns.split('-')[0]);
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    cluster = await LabCluster.start(lab, dir, {
      agentArgs: (h) => ['--bpffs', bpffs!, '--bpf-pin-dir', pinDir(h)],
    });
    [h1, h2] = cluster.hosts;
    for (const v of BPF_VNIS)
      cluster.ctl(
        ...['vni', 'create', String(v.vni), '--mode', 'l3', '--subnet', v.subnet],
        ...['--datapath', 'bpf', '--dstport', String(BPF_PORT)],
      );
    cluster.ctl('vni', 'create', '100', '--mode', 'l3', '--subnet', LWT_VNI.subnet);
    for (const h of cluster.hosts) await eventually(() => assert.ok(h.link(BPF_DEVICE) && h.link(LWT_DEVICE)), 20_000);
    workloads.push(
      ...attachWorkloads(
        cluster,
        [...BPF_VNIS, LWT_VNI],
        [
          [11, h1],
          [13, h1],
          [12, h2],
        ],
      ),
    );
  });

  tearDownLab(() => lab, dir);
  after(() => {
    if (bpffs) releaseBpffsDir(bpffs);
  });

  it('refuses a bpf VNI on the lwt port, naming the lwt VNI there', () => {
    const r = cluster.ctlRun(
      ...['vni', 'create', '900', '--mode', 'l3', '--subnet', '10.190.0.0/24', '--datapath', 'bpf'],
    );
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stderr, /datapath: UDP port 8472 is used by l3 VNI 100 on the lwt datapath/);
  });

  it('every workload reaches every workload of its VNI, on its host and across hosts (IPv4 and IPv6)', async () => {
    await assertReachWithinVnis(workloads);
  });

  it('no workload reaches another VNI, BPF or lwt, on its host or across hosts', async () => {
    assert.deepEqual(await leaksAcrossVnis(workloads), []);
  });

  it('attaches the programs and writes no route or lookup rule for BPF VNIs: only a drop rule per veth', () => {
    for (const h of cluster.hosts) {
      assert.equal(programOn(h, BPF_DEVICE), 'from_tunnel', `${h.name} ${BPF_DEVICE}`);
      assert.equal(programOn(h, LWT_DEVICE), '', `${h.name}: the lwt port's device is the kernel's`);
      for (const family of ['-4', '-6'] as const) {
        const rules = rulesOf(h, family);
        for (const w of workloads.filter((x) => x.host === h)) {
          const veth = hostVeth(w);
          const bpf = w.vni !== 100;
          assert.equal(programOn(h, veth), bpf ? 'from_workload' : '', `${w.name}'s veth`);
          const mine = rules.filter((r) => r.includes(`iif ${veth} `));
          assert.deepEqual(mine, [
            bpf ? `770 from all iif ${veth} blackhole` : `770 from all iif ${veth} lookup 1000000100`,
          ]);
        }
        assert.ok(!rules.some((r) => r.includes(BPF_DEVICE)), rules.join('\n'));
        for (const v of BPF_VNIS) {
          // No table at all (the kernel says so), or an empty one.
          const r = h.run('ip', [family, 'route', 'show', 'table', String(table(v.vni))]);
          assert.ok(
            r.stdout.trim() === '' && /does not exist|^$/.test(r.stderr.trim()),
            `${h.name} table ${table(v.vni)}`,
          );
        }
      }
    }
  });

  it('holds in its maps exactly what each host should, and reports as many entries as bpftool dumps', async () => {
    for (const h of cluster.hosts) {
      const other = h === h1 ? h2 : h1;
      const bpfHere = workloads.filter((w) => w.host === h && w.vni !== 100);
      const bpfThere = workloads.filter((w) => w.host === other && w.vni !== 100);
      const macOf = (w: Workload) =>
        JSON.parse(lab!.execIn(w.netns, 'ip', ['-j', 'link', 'show', 'eth0']).stdout)[0].address as string;
      const sorted = <T extends { key: unknown }>(entries: T[]) =>
        entries.sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
      await eventually(() => {
        assert.deepEqual(
          sorted(dump(h, 'remote_eps', remoteEndpointCodec)),
          sorted(
            bpfThere.map((w) => ({
              key: { vni: w.vni, address: w.ip },
              value: { vtep: other.ip, mac: l3RouterMac(other.ip), tunnelIfindex: ifindex(h, BPF_DEVICE) },
            })),
          ),
          `${h.name} remote_eps`,
        );
      }, 20_000);
      assert.deepEqual(
        sorted(dump(h, 'local_eps', localEndpointCodec)),
        sorted(
          bpfHere.map((w) => ({
            key: { vni: w.vni, address: w.ip },
            value: { ifindex: ifindex(h, hostVeth(w)), mac: macOf(w) },
          })),
        ),
      );
      assert.deepEqual(
        sorted(dump(h, 'workload_ifs', workloadInterfaceCodec)),
        sorted(
          bpfHere.map((w) => ({
            key: ifindex(h, hostVeth(w)),
            value: { vni: w.vni, mac: h.link(hostVeth(w))!.address as string },
          })),
        ),
      );
    }
    // The agents' reports (through the server) count what the kernel holds, per VNI and host.
    await eventually(() => {
      for (const v of BPF_VNIS)
        for (const h of cluster.hosts) {
          const dumped = [
            ...dump(h, 'remote_eps', remoteEndpointCodec).filter((e) => e.key.vni === v.vni),
            ...dump(h, 'local_eps', localEndpointCodec).filter((e) => e.key.vni === v.vni),
            ...dump(h, 'workload_ifs', workloadInterfaceCodec).filter((e) => e.value.vni === v.vni),
          ].length;
          const reported = statusOf(v.vni).find((n) => n.node === h.name);
          assert.deepEqual([reported?.desired, reported?.programmed], [dumped, dumped], `${h.name} VNI ${v.vni}`);
        }
    }, 10_000);
  });

  it('repairs a map entry deleted with bpftool and re-attaches a tc filter deleted by hand', async () => {
    const [a, b] = [workload('w500-11'), workload('w500-12')];
    const key = remoteEndpointCodec.encodeKey({ vni: 500, address: b.ip });
    const repairs = counter(h1, 'vxgossip_bpf_repairs_total');
    execFileSync('bpftool', [
      ...['map', 'delete', 'pinned', path.join(pinDir(h1), 'remote_eps')],
      ...['key', 'hex', ...key.toString('hex').match(/../g)!],
    ]);
    assert.ok(!dump(h1, 'remote_eps', remoteEndpointCodec).some((e) => e.key.vni === 500 && e.key.address === b.ip));
    await eventually(
      () => assert.ok(dump(h1, 'remote_eps', remoteEndpointCodec).some((e) => e.key.address === b.ip)),
      5_000,
      100,
    );
    assert.ok(await pings(a, b, 2), 'w500-11 reaches w500-12 again');

    const veth = hostVeth(a);
    h1.exec('tc', ['filter', 'del', 'dev', veth, 'ingress']);
    assert.equal(programOn(h1, veth), '');
    h1.exec('tc', ['filter', 'del', 'dev', BPF_DEVICE, 'ingress']);
    await eventually(
      () => {
        assert.equal(programOn(h1, veth), 'from_workload');
        assert.equal(programOn(h1, BPF_DEVICE), 'from_tunnel');
      },
      5_000,
      100,
    );
    assert.ok(await pings(b, a, 2), 'w500-12 reaches w500-11 again');
    assert.ok(counter(h1, 'vxgossip_bpf_repairs_total') >= repairs + 3, 'each repair counted');
  });

  it('loses no packet of a 100/s ping while the agents restart (SIGTERM, then kill -9), on the pins', async () => {
    const mapIds = (h: LabHost) =>
      ['remote_eps', 'local_eps', 'workload_ifs'].map(
        (m) =>
          JSON.parse(
            execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', path.join(pinDir(h), m)], { encoding: 'utf8' }),
          ).id,
      );
    const before = cluster.hosts.map(mapIds);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      // Until stopped: however long the restarts take, they happen under the ping.
      const pinger = lab!.spawnIn(workload('w500-11').netns, 'ping', 'ping', [
        ...['-D', '-O', '-i', '0.01', '-W', '1', workload('w500-12').ip],
      ]);
      await new Promise((r) => setTimeout(r, 1000));
      for (const h of cluster.hosts) {
        const agent = await cluster.restartAgent(h, signal);
        const opened = await agent.waitForLog((r) => r.msg === 'BPF datapath opened', 10_000);
        assert.deepEqual(opened.programsReused, ['from_workload', 'from_tunnel'], `${h.name} ${signal}`);
        await agent.waitForLog(
          (r) => r.msg === 'restart grace period over: stale remote entries may now be swept',
          20_000,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
      await pinger.stop('SIGINT');
      // Nor was anything deleted and written back in between (a gap a ping may miss).
      for (const h of cluster.hosts) {
        const passes = cluster
          .agent(h)
          .logRecords()
          .filter((r) => r.msg === 'fdb entries');
        assert.deepEqual(
          passes.filter((r) => r.removed !== 0),
          [],
          `${h.name} after ${signal}`,
        );
      }
      const ping = pingOutcome(pinger.logs());
      assert.equal(ping.received, ping.sent, `${signal}: ${ping.summary}; unanswered: ${ping.unanswered.join(' | ')}`);
      assert.ok(ping.sent > 100, ping.summary);
    }
    assert.deepEqual(cluster.hosts.map(mapIds), before, 'the same maps, reopened');
  });

  it("sweeps nothing before gossip has refilled a restarted agent: its peer's agent down, it keeps forwarding", async () => {
    const [a, b] = [workload('w500-11'), workload('w500-12')];
    // h1 restarts knowing nothing of h2's endpoints, and cannot learn them until h2's agent is back.
    await cluster.agent(h2).stop('SIGKILL');
    const pinger = lab!.spawnIn(a.netns, 'ping', 'ping', ['-D', '-O', '-i', '0.01', '-W', '1', b.ip]);
    await new Promise((r) => setTimeout(r, 500));
    const agent = await cluster.restartAgent(h1, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    await pinger.stop('SIGINT');
    assert.ok(!agent.logRecords().some((r) => r.msg.startsWith('restart grace period over')), 'still in grace');
    const ping = pingOutcome(pinger.logs());
    assert.equal(ping.received, ping.sent, `${ping.summary}; unanswered: ${ping.unanswered.join(' | ')}`);
    assert.ok(dump(h1, 'remote_eps', remoteEndpointCodec).some((e) => e.key.address === b.ip));
    await cluster.restartAgent(h2, 'SIGKILL');
    await agent.waitForLog((r) => r.msg.startsWith('restart grace period over'), 20_000);
    await eventually(async () => assert.ok(await pings(a, b, 2)), 10_000, 200);
  });

  it('moves a VNI from lwt to bpf and back: its workloads keep reaching each other', async () => {
    const [a, b] = [workload('w100-11'), workload('w100-12')];
    cluster.ctl('vni', 'update', '100', '--datapath', 'bpf');
    await eventually(() => {
      for (const h of cluster.hosts) {
        assert.equal(programOn(h, LWT_DEVICE), 'from_tunnel', h.name);
        assert.deepEqual(routesOf(h, '-4', table(100)), [], `${h.name}: no route left`);
      }
      assert.equal(programOn(h1, hostVeth(a)), 'from_workload');
    }, 20_000);
    await eventually(async () => assert.ok(await pings(a, b, 2), 'over bpf'), 10_000, 200);
    assert.equal(await pings(a, workload('w500-12')), false, 'still isolated');

    cluster.ctl('vni', 'update', '100', '--datapath', 'lwt');
    await eventually(() => {
      for (const h of cluster.hosts) {
        assert.equal(programOn(h, LWT_DEVICE), '', h.name);
        assert.ok(
          routesOf(h, '-4', table(100)).some((r) => r.startsWith('blackhole default')),
          h.name,
        );
      }
      assert.equal(programOn(h1, hostVeth(a)), '');
    }, 20_000);
    await eventually(async () => assert.ok(await pings(a, b, 2), 'over lwt again'), 10_000, 200);
    assert.ok(await pings(b, a, 2));
  });

  it("removes a deleted VNI's entries and programs; with the last BPF VNI go the pins", async () => {
    // --cascade detaches the VNI's workloads first (a plain delete is refused while they are attached).
    const gone = workload('w600-11');
    const veth = hostVeth(gone);
    cluster.ctl('vni', 'delete', '600', '--cascade');
    await eventually(() => {
      for (const h of cluster.hosts) {
        assert.ok(!dump(h, 'remote_eps', remoteEndpointCodec).some((e) => e.key.vni === 600), h.name);
        assert.ok(!dump(h, 'local_eps', localEndpointCodec).some((e) => e.key.vni === 600), h.name);
        assert.ok(!dump(h, 'workload_ifs', workloadInterfaceCodec).some((e) => e.value.vni === 600), h.name);
      }
      assert.equal(h1.link(veth), undefined, `${veth} removed with its program`);
    }, 20_000);
    assert.ok(!rulesOf(h1, '-4').some((r) => r.includes(veth)), 'no rule of it is left behind');
    assert.equal(await pings(gone, workload('w600-13')), false);
    assert.ok(await pings(workload('w500-11'), workload('w500-12'), 2), 'VNI 500 is unaffected');

    for (const vni of ['500', '700', '800']) cluster.ctl('vni', 'delete', vni, '--cascade');
    await eventually(() => {
      for (const h of cluster.hosts) {
        assert.ok(!fs.existsSync(pinDir(h)), `${h.name}: pins removed`);
        assert.equal(h.link(BPF_DEVICE), undefined, `${h.name}: ${BPF_DEVICE} removed`);
      }
    }, 20_000);
    assert.ok(await pings(workload('w100-11'), workload('w100-12'), 2), 'the lwt VNI is unaffected');
  });
});
