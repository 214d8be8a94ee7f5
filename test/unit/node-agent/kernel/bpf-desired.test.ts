import { strict as assert } from 'node:assert';
import type { EndpointRecord } from '../../../../common/fdb-state/winner-rule';
import { LocalBpfEndpoint, desiredBpf } from '../../../../node-agent/kernel/bpf-desired';
import type { L3Vni } from '../../../../node-agent/kernel/realised-vnis';
import { l3RouterMac } from '../../../../node-agent/kernel/vni-devices';
import { announcedEndpoint } from '../../../helpers/endpoint-records';

const VNIS: L3Vni[] = [
  { vni: 100, deviceIndex: 30, device: 'vxl3-4790', subnet: '10.100.0.0/24', datapath: 'bpf' },
  { vni: 300, deviceIndex: 30, device: 'vxl3-4790', subnet: '2001:db8:300::/64', datapath: 'bpf' },
  { vni: 200, deviceIndex: 20, device: 'vxl3-8472', subnet: '10.200.0.0/24', datapath: 'lwt' },
];

const announced = (owner: string, vni: number, vtep: string, ...ips: string[]): EndpointRecord =>
  announcedEndpoint({ owner, vni, vtep, ips });

const attached = (vni: number, ip: string, hostIfindex: number): LocalBpfEndpoint => ({
  vni,
  ip,
  mac: `02:00:00:00:00:${hostIfindex.toString(16).padStart(2, '0')}`,
  hostIfindex,
  hostMac: `02:aa:00:00:00:${hostIfindex.toString(16).padStart(2, '0')}`,
});

describe('BPF datapath: desired maps', () => {
  it('describes each local endpoint by its veth and its address, each remote address by its VTEP', () => {
    const d = desiredBpf(
      VNIS,
      [attached(100, '10.100.0.11/24', 7), attached(300, '2001:db8:300::11/64', 8)],
      [
        announced('h2', 100, '198.18.0.12', '10.100.0.12/24'),
        announced('h3', 300, '2001:db8:ff::13', '2001:db8:300::13/64', '2001:db8:300::14/64'),
      ],
    );
    assert.deepEqual(d.interfaces, [
      { key: 7, value: { vni: 100, mac: '02:aa:00:00:00:07' } },
      { key: 8, value: { vni: 300, mac: '02:aa:00:00:00:08' } },
    ]);
    assert.deepEqual(d.local, [
      { key: { vni: 100, address: '10.100.0.11' }, value: { ifindex: 7, mac: '02:00:00:00:00:07' } },
      { key: { vni: 300, address: '2001:db8:300::11' }, value: { ifindex: 8, mac: '02:00:00:00:00:08' } },
    ]);
    const v4 = { vtep: '198.18.0.12', mac: l3RouterMac('198.18.0.12'), tunnelIfindex: 30 };
    const v6 = { vtep: '2001:db8:ff::13', mac: l3RouterMac('2001:db8:ff::13'), tunnelIfindex: 30 };
    assert.equal(v4.mac, '02:76:c6:12:00:0c', "the MAC the peer's external device carries");
    assert.deepEqual(d.remote, [
      { key: { vni: 100, address: '10.100.0.12' }, value: v4 },
      { key: { vni: 300, address: '2001:db8:300::13' }, value: v6 },
      { key: { vni: 300, address: '2001:db8:300::14' }, value: v6 },
    ]);
  });

  it("attaches to every local endpoint's veth, and once to each port's device", () => {
    const d = desiredBpf(VNIS, [attached(100, '10.100.0.11/24', 7), attached(100, '10.100.0.13/24', 9)], []);
    assert.deepEqual(d.attachments, [
      { point: 'workload', ifindex: 7 },
      { point: 'workload', ifindex: 9 },
      { point: 'tunnel', ifindex: 30 },
    ]);
  });

  it('leaves lwt VNIs and VNIs not realised alone, and counts entries per BPF VNI', () => {
    const d = desiredBpf(
      VNIS,
      [attached(100, '10.100.0.11/24', 7), attached(200, '10.200.0.11/24', 10), attached(999, '10.9.0.1/24', 11)],
      [
        announced('h2', 100, '198.18.0.12', '10.100.0.12/24'),
        announced('h2', 200, '198.18.0.12', '10.200.0.12/24'),
        announced('h2', 999, '198.18.0.12', '10.9.0.2/24'),
      ],
    );
    assert.deepEqual(
      [...d.local, ...d.remote].map((e) => e.key.vni),
      [100, 100],
    );
    assert.deepEqual(
      d.interfaces.map((e) => e.key),
      [7],
    );
    assert.ok(!d.attachments.some((a) => a.ifindex === 20), "the lwt port's device is not ours");
    // VNI 100: its veth, its local address, one remote address; VNI 300 wants nothing yet.
    assert.deepEqual(
      [...d.perVni],
      [
        [100, 3],
        [300, 0],
      ],
    );
  });

  it('keeps one entry for an address two records claim, and none without BPF VNIs', () => {
    const d = desiredBpf(
      VNIS,
      [],
      [announced('h2', 100, '198.18.0.12', '10.100.0.12/24'), announced('h3', 100, '198.18.0.13', '10.100.0.12/24')],
    );
    assert.deepEqual(
      d.remote.map((e) => e.value.vtep),
      ['198.18.0.13'],
    );
    const none = desiredBpf(VNIS.slice(2), [attached(200, '10.200.0.11/24', 10)], []);
    assert.deepEqual(
      [none.interfaces, none.local, none.remote, none.attachments, [...none.perVni]],
      [[], [], [], [], []],
    );
  });
});
