import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import type { EndpointRecord } from '../../../../common/fdb-state/winner-rule';
import { L3RouteWriter } from '../../../../node-agent/kernel/l3-route-writer';
import type { L3Vni } from '../../../../node-agent/kernel/realised-vnis';
import { l3RouterMac } from '../../../../node-agent/kernel/vni-devices';
import { RTPROT_VXGOSSIP } from '../../../../node-agent/netlink';
import { announcedEndpoint } from '../../../helpers/endpoint-records';
import { MemoryKernel } from '../../../helpers/memory-kernel';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const L3: L3Vni = { vni: 77, deviceIndex: 20, device: 'vxl3-8472', subnet: '10.77.0.0/24', datapath: 'lwt' };
const T77 = 1_000_000_077;

const remote = (mac: string, ip: string, vtep: string, vni = 77): EndpointRecord =>
  announcedEndpoint({ vni, mac, vtep, ips: [`${ip}/${ip.includes(':') ? 64 : 24}`] });
const local = (vni: number, ip: string, hostIfindex: number, hostInterface: string) => ({
  vni,
  ip,
  hostIfindex,
  hostInterface,
});

describe('L3 route writer (in-memory kernel)', () => {
  let kernel: MemoryKernel;
  let sysctls: string[];
  let writer: L3RouteWriter;
  const route = (table: number, dst: string) => kernel.routeEntries.get(`${table}|${dst}`);
  const rulesShown = () =>
    [...kernel.ruleEntries.values()]
      .map(
        (r) =>
          `${r.family} ${r.priority} ${r.iif ?? ''}${r.tunId !== undefined ? ` tun ${r.tunId}` : ''}${r.dst ? ` to ${r.dst}` : ''} ${r.action === 'lookup' ? r.table : r.action}`,
      )
      .sort();
  beforeEach(() => {
    kernel = new MemoryKernel();
    sysctls = [];
    writer = new L3RouteWriter(kernel.rt, silent, (path, value) => {
      sysctls.push(`${path}=${value}`);
      return true;
    });
  });

  it("routes in the VNI's own table only: the tunnel, the local veth, the gateway and a blackhole default", async () => {
    const result = await writer.reconcile(
      [L3],
      [local(77, '10.77.0.5/24', 31, 'vxe1')],
      [remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12')],
      true,
    );
    const tunnel = route(T77, '10.77.0.2/32')!;
    assert.deepEqual(
      [tunnel.oif, tunnel.encap?.id, tunnel.encap?.dst, tunnel.encap?.csum, tunnel.protocol],
      [L3.deviceIndex, 77n, '198.18.0.12', undefined, RTPROT_VXGOSSIP],
    );
    assert.deepEqual([route(T77, '10.77.0.5/32')?.oif, route(T77, '10.77.0.5/32')?.scope], [31, 'link']);
    assert.equal(route(T77, '0.0.0.0/0')?.type, 'blackhole');
    assert.equal(route(T77, '::/0')?.type, 'blackhole', 'IPv6 ends in the domain too');
    assert.ok(
      [...kernel.routeEntries.keys()].every((k) => k.startsWith(`${T77}|`)),
      'nothing in main',
    );
    assert.equal(
      kernel.neighbourEntries.get('20|10.77.0.2')?.mac,
      l3RouterMac('198.18.0.12'),
      'the routed frame goes to the remote device',
    );
    assert.deepEqual(rulesShown(), [
      `4 770 vxe1 ${T77}`,
      `4 771 vxl3-8472 tun 77 ${T77}`,
      `4 772 lo to 10.77.0.0/24 ${T77}`,
      `4 772 vxl3-8472 to 10.77.0.0/24 ${T77}`,
      '4 773 vxl3-8472 blackhole',
      `6 770 vxe1 ${T77}`,
      `6 771 vxl3-8472 tun 77 ${T77}`,
      '6 773 vxl3-8472 blackhole',
    ]);
    // 2 defaults, the gateway, 2 endpoints and 6 rules of VNI 77 (the drop serves no VNI).
    assert.deepEqual([result.desired.get(77), result.programmed.get(77)], [11, 11]);
    assert.ok(sysctls.includes('net.ipv4.ip_forward=1'));
    assert.ok(sysctls.includes('net.ipv4.conf.vxe1.proxy_arp=1'));
  });

  it('answers ARP for the IPv4 gateway with a local route in the domain', async () => {
    await writer.reconcile([L3], [local(77, '10.77.0.5/24', 31, 'vxe1')], [], true);
    const gateway = route(T77, '10.77.0.1/32');
    assert.deepEqual([gateway?.type, gateway?.oif, gateway?.protocol], ['local', 1, RTPROT_VXGOSSIP]);
  });

  it('keeps two VNIs apart: a table each, rules into each from its own veths and key', async () => {
    const other: L3Vni = { vni: 88, deviceIndex: 20, device: 'vxl3-8472', subnet: '10.88.0.0/24', datapath: 'lwt' };
    await writer.reconcile(
      [L3, other],
      [local(77, '10.77.0.5/24', 31, 'vxe1'), local(88, '10.88.0.5/24', 32, 'vxe2')],
      [
        remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12'),
        remote('02:00:00:00:00:03', '10.88.0.2', '198.18.0.12', 88),
      ],
      true,
    );
    assert.equal(route(T77, '10.88.0.2/32'), undefined);
    assert.equal(route(1_000_000_088, '10.88.0.2/32')?.encap?.id, 88n);
    assert.equal(route(1_000_000_088, '10.77.0.5/32'), undefined);
    const shown = rulesShown();
    assert.ok(shown.includes('4 770 vxe2 1000000088') && shown.includes(`4 770 vxe1 ${T77}`), shown.join('\n'));
    assert.equal(shown.filter((r) => r.endsWith('blackhole')).length, 2, 'one drop per family for the shared device');
  });

  it('routes an IPv6 domain: /128 routes, the gateway answered by ND on each veth, checksums over an IPv6 underlay', async () => {
    const v6: L3Vni = { vni: 66, deviceIndex: 20, device: 'vxl3-8472', subnet: '2001:db8:66::/64', datapath: 'lwt' };
    const t = 1_000_000_066;
    writer = new L3RouteWriter(kernel.rt, silent, (path, value) => {
      if (path.endsWith('force_forwarding'))
        throw Object.assign(new Error(`no ${path} before Linux 6.17`), { code: 'ENOENT' });
      sysctls.push(`${path}=${value}`);
      return true;
    });
    await writer.reconcile(
      [v6],
      [local(66, '2001:db8:66::5/64', 31, 'vxe1')],
      [remote('02:00:00:00:00:02', '2001:db8:66::2', '2001:db8:ff::12', 66)],
      true,
    );
    assert.equal(route(t, '2001:db8:66::5/128')?.oif, 31);
    const tunnel = route(t, '2001:db8:66::2/128');
    assert.deepEqual([tunnel?.encap?.dst, tunnel?.encap?.csum], ['2001:db8:ff::12', true]);
    assert.equal(route(t, '2001:db8:66::1/128'), undefined, 'no local route for the IPv6 gateway');
    assert.deepEqual(kernel.proxyEntries.get('31|2001:db8:66::1'), {
      vni: 66,
      ifindex: 31,
      ip: '2001:db8:66::1',
      proxy: true,
      protocol: RTPROT_VXGOSSIP,
    });
    assert.ok(rulesShown().includes(`6 772 lo to 2001:db8:66::/64 ${t}`));
    for (const s of [
      'net.ipv6.conf.vxe1.proxy_ndp=1',
      'net.ipv6.conf.vxe1.forwarding=1',
      'net.ipv6.neigh.vxe1.proxy_delay=0',
      'net.ipv6.conf.all.forwarding=1',
    ])
      assert.ok(sysctls.includes(s), `${s} in ${sysctls.join(' ')}`);
    await writer.reconcile([v6], [], [], true);
    assert.deepEqual([...kernel.proxyEntries.keys()], [], 'the proxy entry goes with its endpoint');
  });

  it('is idle when nothing changed, repairs what was deleted, and sweeps only its own once allowed', async () => {
    const eps = [remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12')];
    const ours = [local(77, '10.77.0.5/24', 31, 'vxe1')];
    await writer.reconcile([L3], ours, eps, true);
    kernel.routeEntries.set('254|192.0.2.0/24', { dst: '192.0.2.0/24', oif: 5 });
    const operatorRule = { family: 4 as const, priority: 770, action: 'lookup' as const, table: 100, iif: 'eth1' };
    await kernel.rules.add(operatorRule);
    kernel.writes.length = 0;
    await writer.reconcile([L3], ours, eps, true);
    assert.deepEqual(kernel.writes, []);
    await kernel.routes.delete({ dst: '0.0.0.0/0', table: T77 });
    const rule = [...kernel.ruleEntries.values()].find((r) => r.iif === 'vxe1' && r.family === 4)!;
    await kernel.rules.delete(rule);
    kernel.writes.length = 0;
    await writer.reconcile([L3], ours, eps, true);
    assert.equal(kernel.writes.length, 2, `repaired: ${kernel.writes.join(', ')}`);
    assert.equal(route(T77, '0.0.0.0/0')?.type, 'blackhole');
    kernel.writes.length = 0;
    await writer.reconcile([L3], [], [], false);
    assert.deepEqual(kernel.writes, [], 'grace: nothing removed');
    const swept = await writer.reconcile([], [], [], true);
    assert.equal(swept.removed, 5 + 8, 'routes and rules (the neighbour goes with the device)');
    assert.deepEqual([...kernel.routeEntries.keys()], ['254|192.0.2.0/24'], "an operator's route stays");
    assert.deepEqual([...kernel.ruleEntries.values()], [operatorRule], "an operator's rule stays");
  });

  it('sweeps the routes earlier versions left in main', async () => {
    kernel.routeEntries.set('254|10.77.0.2/32', { dst: '10.77.0.2/32', oif: 20, protocol: RTPROT_VXGOSSIP });
    await writer.reconcile([L3], [], [remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12')], true);
    assert.equal(route(254, '10.77.0.2/32'), undefined);
    assert.equal(route(T77, '10.77.0.2/32')?.encap?.id, 77n);
  });

  it('without L3 VNIs, reads no routing table once a sweep left none of its routes', async () => {
    await writer.reconcile([L3], [], [remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12')], true);
    let reads = 0;
    const list = kernel.routes.list;
    kernel.routes.list = (family) => {
      reads++;
      return list(family);
    };
    const swept = await writer.reconcile([], [], [], true);
    assert.equal(
      swept.removed,
      4 + 6,
      'the L3 VNI is gone: its routes and rules are swept (neighbours go with its device)',
    );
    assert.equal(reads, 2);
    await writer.reconcile([], [], [], true);
    await writer.reconcile([], [], [], true);
    assert.equal(reads, 2, 'a host without L3 VNIs pays no route dump per pass');
    await writer.reconcile([L3], [], [], true);
    await writer.reconcile([], [], [], true);
    assert.equal(reads, 6, 'an L3 VNI realised again: the next sweep reads again');
  });

  it("leaves an operator's route and neighbour in place, reports them, and programs once they are gone", async () => {
    const eps = [
      remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12'),
      remote('02:00:00:00:00:03', '10.77.0.3', '198.18.0.12'),
    ];
    kernel.routeEntries.set(`${T77}|10.77.0.2/32`, { dst: '10.77.0.2/32', table: T77, protocol: 4 });
    kernel.neighbourEntries.set('20|10.77.0.3', {
      ifindex: 20,
      ip: '10.77.0.3',
      mac: '02:99:00:00:00:03',
      state: 'permanent',
    });
    const held = await writer.reconcile([L3], [], eps, true);
    assert.equal(route(T77, '10.77.0.2/32')?.protocol, 4, "the operator's route stays");
    assert.equal(
      kernel.neighbourEntries.get('20|10.77.0.3')?.mac,
      '02:99:00:00:00:03',
      "the operator's neighbour stays",
    );
    assert.deepEqual(held.conflicts, [
      { vni: 77, kind: 'route', address: '10.77.0.2/32', found: 'proto static' },
      { vni: 77, kind: 'neigh', address: '10.77.0.3', found: 'nud permanent' },
    ]);
    // 2 defaults, the gateway, 2 endpoints and 4 rules; one route is the operator's.
    assert.deepEqual([held.desired.get(77), held.programmed.get(77)], [9, 8]);
    kernel.routeEntries.delete(`${T77}|10.77.0.2/32`);
    kernel.neighbourEntries.delete('20|10.77.0.3');
    const programmed = await writer.reconcile([L3], [], eps, true);
    assert.deepEqual(programmed.conflicts, []);
    assert.equal(route(T77, '10.77.0.2/32')?.protocol, RTPROT_VXGOSSIP);
    assert.equal(kernel.neighbourEntries.get('20|10.77.0.3')?.mac, l3RouterMac('198.18.0.12'));
    assert.deepEqual([programmed.desired.get(77), programmed.programmed.get(77)], [9, 9]);
  });
});
