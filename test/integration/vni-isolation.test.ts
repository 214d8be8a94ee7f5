import { strict as assert } from 'node:assert';
import { LabHost, LabNetwork } from '../../lab/network';
import { eventually } from '../../lab/eventually';
import { makeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { tearDownLab } from '../helpers/lab-teardown';
import { LabCluster } from '../../lab/lab-cluster';
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
} from '../helpers/lab-workloads';

const L3_DEVICE = 'vxl3-8472';
const table = (vni: number) => 1_000_000_000 + vni;

// One VNI of each kind on both hosts: L2 (42, 43), L3 over IPv4 (100, 200), L3 over IPv6 (300, 400).
const VNIS: WorkloadVni[] = [
  { vni: 42, mode: 'l2', subnet: '10.42.0.0/24', host: (i) => `10.42.0.${i}` },
  { vni: 43, mode: 'l2', subnet: '10.43.0.0/24', host: (i) => `10.43.0.${i}` },
  { vni: 100, mode: 'l3', subnet: '10.100.0.0/24', host: (i) => `10.100.0.${i}` },
  { vni: 200, mode: 'l3', subnet: '10.200.0.0/24', host: (i) => `10.200.0.${i}` },
  { vni: 300, mode: 'l3', subnet: '2001:db8:300::/64', host: (i) => `2001:db8:300::${i}` },
  { vni: 400, mode: 'l3', subnet: '2001:db8:400::/64', host: (i) => `2001:db8:400::${i}` },
];

// Workloads of two VNIs of each kind on two hosts, each with a default route: within a VNI every
// workload reaches every other, across VNIs none does, on one host or across hosts. For L3 VNIs the
// agent programs one routing domain per VNI (table, rules, gateway) and repairs it.
describe('VNI isolation: two L2, two L3 (IPv4) and two L3 (IPv6) VNIs on two hosts (real kernel)', function () {
  this.timeout(300_000);
  let lab: LabNetwork;
  let cluster: LabCluster;
  let h1: LabHost;
  let h2: LabHost;
  const dir = makeTempDir('isolation');
  const workloads: Workload[] = [];
  const workload = (name: string) => workloads.find((w) => w.name === name)!;

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', ping: 'iputils-ping' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    cluster = await LabCluster.start(lab, dir);
    [h1, h2] = cluster.hosts;
    for (const v of VNIS) cluster.ctl('vni', 'create', String(v.vni), '--mode', v.mode, '--subnet', v.subnet);
    for (const h of cluster.hosts)
      await eventually(() => assert.ok(h.link('br42') && h.link('br43') && h.link(L3_DEVICE)), 20_000);
    // Two workloads per VNI on h1 (.11, .13) and one on h2 (.12).
    workloads.push(
      ...attachWorkloads(cluster, VNIS, [
        [11, h1],
        [13, h1],
        [12, h2],
      ]),
    );
  });

  tearDownLab(() => lab, dir);

  it('every workload reaches every workload of its VNI, on its host and across hosts', async () => {
    await assertReachWithinVnis(workloads);
  });

  it('no workload reaches another VNI: L2 or L3, IPv4 or IPv6, on its host or across hosts', async () => {
    assert.deepEqual(await leaksAcrossVnis(workloads), []);
  });

  it("gives each L3 workload a default route through its VNI's gateway, answered for that VNI only", async () => {
    const ipIn = (w: Workload, ...args: string[]) => lab.execIn(w.netns, 'ip', args).stdout;
    assert.match(ipIn(workload('w100-11'), 'route', 'show', 'default'), /^default via 10\.100\.0\.1 dev eth0 .*onlink/);
    assert.match(
      ipIn(workload('w300-11'), '-6', 'route', 'show', 'default'),
      /^default via 2001:db8:300::1 dev eth0 .*onlink/,
    );
    assert.match(ipIn(workload('w100-11'), 'neigh', 'show', '10.100.0.1'), /lladdr/);
    assert.match(ipIn(workload('w300-11'), '-6', 'neigh', 'show', '2001:db8:300::1'), /lladdr/);
    // A workload of VNI 200 (400) that asks for VNI 100's (300's) gateway on its link gets no answer.
    const b = workload('w200-11');
    lab.execIn(b.netns, 'ip', ['route', 'add', '10.100.0.1/32', 'dev', 'eth0']);
    const d = workload('w400-11');
    lab.execIn(d.netns, 'ip', ['-6', 'route', 'add', '2001:db8:300::1/128', 'dev', 'eth0']);
    await Promise.all([pings(b, { ...b, ip: '10.100.0.1' }, 2), pings(d, { ...d, ip: '2001:db8:300::1' }, 2)]);
    assert.doesNotMatch(ipIn(b, 'neigh', 'show', '10.100.0.1'), /lladdr/);
    assert.doesNotMatch(ipIn(d, '-6', 'neigh', 'show', '2001:db8:300::1'), /lladdr/);
  });

  it('programs one table per L3 VNI and the rules steering into it, and no overlay route in main', () => {
    for (const h of cluster.hosts) {
      const mine = (vni: number) => workloads.filter((w) => w.vni === vni && w.host === h);
      const rules4 = rulesOf(h, '-4');
      const rules6 = rulesOf(h, '-6');
      for (const v of VNIS.filter((x) => x.mode === 'l3')) {
        const t = table(v.vni);
        for (const w of mine(v.vni)) {
          assert.ok(rules4.includes(`770 from all iif ${hostVeth(w)} lookup ${t}`), `${h.name}: ${rules4.join('\n')}`);
          assert.ok(rules6.includes(`770 from all iif ${hostVeth(w)} lookup ${t}`), `${h.name}: ${rules6.join('\n')}`);
        }
        const subnetRules = v.subnet.includes(':') ? rules6 : rules4;
        for (const rules of [rules4, rules6])
          assert.ok(rules.includes(`771 from all iif ${L3_DEVICE} tun_id ${v.vni} lookup ${t}`), rules.join('\n'));
        for (const iif of ['lo', L3_DEVICE])
          assert.ok(subnetRules.includes(`772 from all to ${v.subnet} iif ${iif} lookup ${t}`), subnetRules.join('\n'));
        const family = v.subnet.includes(':') ? '-6' : '-4';
        const routes = routesOf(h, family, t);
        const other = h === h1 ? h2 : h1;
        const expected = [
          /^blackhole default /,
          ...(family === '-4' ? [/^local 10\.\d+\.0\.1 dev lo proto 77 scope host/] : []),
          ...mine(v.vni).map((w) => new RegExp(`^${w.ip} dev ${hostVeth(w)} proto 77`)),
          ...workloads
            .filter((w) => w.vni === v.vni && w.host === other)
            .map((w) => new RegExp(`^${w.ip} +encap ip id ${v.vni} .*dst ${other.ip} .*dev ${L3_DEVICE} proto 77`)),
        ];
        assert.equal(routes.length, expected.length, `${h.name} table ${t}:\n${routes.join('\n')}`);
        for (const e of expected)
          assert.ok(
            routes.some((r) => e.test(r)),
            `${h.name} table ${t} lacks ${e}`,
          );
        const otherFamily = routesOf(h, family === '-4' ? '-6' : '-4', t);
        assert.deepEqual(
          otherFamily.map((r) => r.split(' ').slice(0, 2).join(' ')),
          ['blackhole default'],
          `${h.name} table ${t}`,
        );
      }
      for (const rules of [rules4, rules6])
        assert.ok(rules.includes(`773 from all iif ${L3_DEVICE} blackhole`), rules.join('\n'));
      for (const family of ['-4', '-6'] as const)
        assert.deepEqual(
          routesOf(h, family, 'main').filter((r) => /proto 77/.test(r)),
          [],
          `${h.name} main`,
        );
    }
  });

  it('repairs a rule or a route deleted by hand', async () => {
    const a = workload('w100-11');
    const veth = hostVeth(a);
    const t = table(100);
    // A rule alone (its deletion is what wakes the agent), then routes.
    h1.exec('ip', ['rule', 'del', 'pref', '770', 'iif', veth, 'lookup', String(t)]);
    h1.exec('ip', [
      '-6',
      'rule',
      'del',
      'pref',
      '771',
      'iif',
      L3_DEVICE,
      'tun_id',
      '300',
      'lookup',
      String(table(300)),
    ]);
    await eventually(() => {
      assert.ok(rulesOf(h1, '-4').includes(`770 from all iif ${veth} lookup ${t}`));
      assert.ok(rulesOf(h1, '-6').includes(`771 from all iif ${L3_DEVICE} tun_id 300 lookup ${table(300)}`));
    }, 10_000);
    h1.exec('ip', ['route', 'del', 'blackhole', 'default', 'table', String(t)]);
    h1.exec('ip', ['route', 'del', '10.100.0.12/32', 'table', String(t)]);
    await eventually(() => {
      const routes = routesOf(h1, '-4', t);
      assert.ok(
        routes.some((r) => r.startsWith('blackhole default')),
        routes.join('\n'),
      );
      assert.ok(
        routes.some((r) => r.startsWith('10.100.0.12 ') && r.includes('encap ip id 100')),
        routes.join('\n'),
      );
    }, 10_000);
    assert.ok(await pings(a, workload('w100-12'), 2), 'w100-11 reaches w100-12 again');
    assert.ok(await pings(workload('w300-12'), workload('w300-11'), 2), 'w300-12 reaches w300-11 again');
  });

  it("refuses an endpoint at its VNI's gateway address", () => {
    for (const [vni, ip] of [
      [100, '10.100.0.1/24'],
      [300, '2001:db8:300::1/64'],
    ] as const) {
      const netns = lab.namespace(`gw${vni}`);
      const r = cluster.ctlRun(
        ...['endpoint', 'attach', '--node', 'h1'],
        ...['--vni', String(vni), '--netns', netns, '--ip', ip],
      );
      assert.notEqual(r.status, 0, r.stdout);
      assert.match(r.stderr, new RegExp(`ip: "${ip.replace(/\./g, '\\.')}" is the gateway of VNI ${vni}`));
      assert.equal(lab.execIn(netns, 'ip', ['link', 'show', 'eth0']).status, 1, 'nothing was created');
    }
  });

  it('refuses to delete a VNI with workloads attached; --cascade detaches them and removes its rules and table', async () => {
    const refused = cluster.ctlRun('vni', 'delete', '200');
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(
      refused.stderr,
      /VNI 200 has \d+ attached endpoint\(s\): h\d .*; detach them .* or delete with --cascade/,
    );
    const b = workload('w200-11');
    const veth = hostVeth(b);
    cluster.ctl('vni', 'delete', '200', '--cascade');
    cluster.ctl('vni', 'delete', '400', '--cascade');
    await eventually(() => {
      for (const h of cluster.hosts) {
        for (const vni of [200, 400]) {
          const t = String(table(vni));
          for (const family of ['-4', '-6'] as const) {
            assert.deepEqual(routesOf(h, family, t), [], `${h.name} table ${t}`);
            const rules = rulesOf(h, family);
            assert.deepEqual(
              rules.filter((r) => r.includes(`lookup ${t}`) || r.includes(`tun_id ${vni} `)),
              [],
              `${h.name}: ${rules.join('\n')}`,
            );
          }
        }
      }
    }, 20_000);
    // --cascade detached the workloads on their hosts: no veth, no rule of theirs is left behind.
    assert.equal(h1.link(veth), undefined, `${veth} removed`);
    assert.equal(lab.execIn(b.netns, 'ip', ['link', 'show', 'eth0']).status, 1, 'the workload has no interface');
    for (const family of ['-4', '-6'] as const)
      assert.ok(!rulesOf(h1, family).some((r) => r.includes(veth)), rulesOf(h1, family).join('\n'));
    assert.equal(await pings(b, workload('w200-13')), false);
    assert.ok(await pings(workload('w100-11'), workload('w100-12'), 2), 'VNI 100 is unaffected');
  });
});

// The same domains with IPv6 VTEPs (gossip stays on IPv4): routes encapsulate in IPv6, with UDP
// checksums (a receiving vxlan device drops zero-checksum IPv6 datagrams by default).
describe('L3 VNIs over an IPv6 underlay (2 hosts, real kernel)', function () {
  this.timeout(180_000);
  let lab: LabNetwork;
  let cluster: LabCluster;
  const dir = makeTempDir('isolation-v6');
  let workloads: Workload[] = [];
  const vtep = (h: LabHost) => `2001:db8:ff::${h.ip.split('.')[3]}`;

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', ping: 'iputils-ping' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    for (const h of lab.hosts) h.exec('ip', ['addr', 'add', `${vtep(h)}/64`, 'dev', 'eth0', 'nodad']);
    cluster = await LabCluster.start(lab, dir, { vtep, agentArgs: (h) => ['--advertise', `${h.ip}:7946`] });
    const [h1, h2] = cluster.hosts;
    const vnis = VNIS.filter((v) => v.vni === 100 || v.vni === 300);
    for (const v of vnis) cluster.ctl('vni', 'create', String(v.vni), '--mode', v.mode, '--subnet', v.subnet);
    for (const h of cluster.hosts) await eventually(() => assert.ok(h.link(L3_DEVICE)), 20_000);
    workloads = attachWorkloads(cluster, vnis, [
      [11, h1],
      [12, h2],
    ]);
  });

  tearDownLab(() => lab, dir);

  it('routes IPv4 and IPv6 workloads through IPv6 tunnels', async () => {
    const [h1, h2] = cluster.hosts;
    for (const vni of [100, 300]) {
      const [a, b] = workloads.filter((w) => w.vni === vni);
      await eventually(async () => assert.ok(await pings(a, b, 2), `${a.name} -> ${b.name}`), 30_000, 500);
      assert.ok(await pings(b, a, 2), `${b.name} -> ${a.name}`);
      const family = a.ip.includes(':') ? '-6' : '-4';
      const tunnel = routesOf(h1, family, table(vni)).find((r) => r.startsWith(`${b.ip} `));
      assert.match(tunnel ?? '', new RegExp(`encap ip6 id ${vni} src :: dst ${vtep(h2)} .*csum dev ${L3_DEVICE}`));
    }
  });
});
