import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import type { EndpointRecord } from '../../../../common/fdb-state/winner-rule';
import { L3RouteWriter } from '../../../../node-agent/kernel/l3-route-writer';
import { l3RouterMac } from '../../../../node-agent/kernel/vni-devices';
import { RTPROT_VXGOSSIP } from '../../../../node-agent/netlink';
import { MemoryKernel } from '../../../helpers/memory-kernel';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const L3 = { vni: 77, deviceIndex: 20 };

const remote = (mac: string, ip: string, vtep: string): EndpointRecord => ({
  owner: 'h2',
  version: { incarnation: 1, counter: 1 },
  tombstone: false,
  originTimeMs: 0,
  body: { kind: 'endpoint', vni: 77, mac, ips: [`${ip}/24`], vtep, mobilitySeq: 0, origin: 'api' },
});

describe('L3 route writer (in-memory kernel)', () => {
  let kernel: MemoryKernel;
  let sysctls: string[];
  let writer: L3RouteWriter;
  beforeEach(() => {
    kernel = new MemoryKernel();
    sysctls = [];
    writer = new L3RouteWriter(kernel.rt, silent, (path, value) => {
      sysctls.push(`${path}=${value}`);
      return true;
    });
  });

  it('routes a remote endpoint through the tunnel and a local one through its veth', async () => {
    const local = [{ vni: 77, ip: '10.77.0.1/24', hostIfindex: 31, hostInterface: 'vxe1' }];
    const result = await writer.reconcile([L3], local, [remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12')], true);
    const tunnel = kernel.routeEntries.get('10.77.0.2/32')!;
    assert.deepEqual(
      [tunnel.oif, tunnel.encap?.id, tunnel.encap?.dst, tunnel.protocol],
      [L3.deviceIndex, 77n, '198.18.0.12', RTPROT_VXGOSSIP],
    );
    assert.equal(kernel.routeEntries.get('10.77.0.1/32')?.oif, 31);
    assert.equal(
      kernel.neighbourEntries.get('20|10.77.0.2')?.mac,
      l3RouterMac('198.18.0.12'),
      'the routed frame goes to the remote device',
    );
    assert.deepEqual(result.desired.get(77), 2);
    assert.deepEqual(result.programmed.get(77), 2);
    assert.ok(sysctls.includes('net.ipv4.ip_forward=1'));
    assert.ok(sysctls.includes('net.ipv4.conf.vxe1.proxy_arp=1'));
  });

  it('is idle when nothing changed, and sweeps only its own routes once allowed', async () => {
    const ep = [remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12')];
    await writer.reconcile([L3], [], ep, true);
    kernel.routeEntries.set('192.0.2.0/24', { dst: '192.0.2.0/24', oif: 5 });
    kernel.writes.length = 0;
    await writer.reconcile([L3], [], ep, true);
    assert.deepEqual(kernel.writes, []);
    await writer.reconcile([L3], [], [], false);
    assert.deepEqual(kernel.writes, [], 'grace: nothing removed');
    const swept = await writer.reconcile([L3], [], [], true);
    assert.equal(swept.removed, 2);
    assert.deepEqual([...kernel.routeEntries.keys()], ['192.0.2.0/24'], "an operator's route stays");
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
    assert.equal(swept.removed, 1, 'the L3 VNI is gone: its route is swept (its neighbours go with its device)');
    assert.equal(reads, 1);
    await writer.reconcile([], [], [], true);
    await writer.reconcile([], [], [], true);
    assert.equal(reads, 1, 'a host without L3 VNIs pays no route dump per pass');
    await writer.reconcile([L3], [], [], true);
    await writer.reconcile([], [], [], true);
    assert.equal(reads, 3, 'an L3 VNI realised again: the next sweep reads again');
  });

  it("leaves an operator's route and neighbour in place, reports them, and programs once they are gone", async () => {
    const ep = [
      remote('02:00:00:00:00:02', '10.77.0.2', '198.18.0.12'),
      remote('02:00:00:00:00:03', '10.77.0.3', '198.18.0.12'),
    ];
    kernel.routeEntries.set('10.77.0.2/32', { dst: '10.77.0.2/32', protocol: 4 });
    kernel.neighbourEntries.set('20|10.77.0.3', {
      ifindex: 20,
      ip: '10.77.0.3',
      mac: '02:99:00:00:00:03',
      state: 'permanent',
    });
    const held = await writer.reconcile([L3], [], ep, true);
    assert.equal(kernel.routeEntries.get('10.77.0.2/32')?.protocol, 4, "the operator's route stays");
    assert.equal(
      kernel.neighbourEntries.get('20|10.77.0.3')?.mac,
      '02:99:00:00:00:03',
      "the operator's neighbour stays",
    );
    assert.deepEqual(held.conflicts, [
      { vni: 77, kind: 'route', address: '10.77.0.2/32', found: 'proto static' },
      { vni: 77, kind: 'neigh', address: '10.77.0.3', found: 'nud permanent' },
    ]);
    assert.deepEqual([held.desired.get(77), held.programmed.get(77)], [2, 1]);
    kernel.routeEntries.delete('10.77.0.2/32');
    kernel.neighbourEntries.delete('20|10.77.0.3');
    const programmed = await writer.reconcile([L3], [], ep, true);
    assert.deepEqual(programmed.conflicts, []);
    assert.equal(kernel.routeEntries.get('10.77.0.2/32')?.protocol, RTPROT_VXGOSSIP);
    assert.equal(kernel.neighbourEntries.get('20|10.77.0.3')?.mac, l3RouterMac('198.18.0.12'));
    assert.deepEqual([programmed.desired.get(77), programmed.programmed.get(77)], [2, 2]);
  });
});
