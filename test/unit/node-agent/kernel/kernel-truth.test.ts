import { strict as assert } from 'node:assert';
import { readKernelTruth } from '../../../../node-agent/kernel/kernel-truth';
import type { RealisedVnis } from '../../../../node-agent/kernel/realised-vnis';
import {
  RTPROT_VXGOSSIP,
  type FdbEntry,
  type Neighbour,
  type Route,
  type Rtnetlink,
} from '../../../../node-agent/netlink';

const M1 = '02:00:00:00:00:01';
const M2 = '02:00:00:00:00:02';
const LOCAL = '02:00:00:00:00:0a';
const FLOOD = '00:00:00:00:00:00';
// VNI 42: vxlan42 is #10, br42 #11, a workload's veth #12; VNI 43: vxlan43 #20, br43 #21. VNI 100
// routes in table 1000000100.
const realised: RealisedVnis = {
  l2: [
    { vni: 42, vxlanIndex: 10, bridgeIndex: 11, headEnd: true },
    { vni: 43, vxlanIndex: 20, bridgeIndex: 21, headEnd: true },
  ],
  l3: [{ vni: 100, deviceIndex: 30, device: 'vxl3-8472', subnet: '10.100.0.0/24', datapath: 'lwt' }],
};

const fdb: FdbEntry[] = [
  { ifindex: 10, mac: M2, dst: '198.18.0.2', self: true },
  { ifindex: 10, mac: M1, dst: '198.18.0.3', self: true },
  { ifindex: 10, mac: FLOOD, dst: '198.18.0.2', self: true },
  // The bridge's extern_learn entry for our vxlan port, and the vxlan device's own address.
  { ifindex: 10, mac: M1, master: 11, externLearn: true },
  { ifindex: 10, mac: '02:aa:00:00:00:10', master: 11, state: 'permanent' },
  { ifindex: 20, mac: M1, dst: '198.18.0.9', self: true },
];
const bridgeFdb: Record<number, FdbEntry[]> = {
  11: [
    // Learned behind the workload's veth; the veth's own address is permanent.
    { ifindex: 12, mac: LOCAL, master: 11, state: 'dynamic' },
    { ifindex: 12, mac: '02:aa:00:00:00:12', master: 11, state: 'permanent' },
    { ifindex: 10, mac: M1, master: 11, externLearn: true },
  ],
  21: [],
};
const neighbours: Neighbour[] = [
  { ifindex: 11, ip: '10.42.0.3', mac: M1, state: 'permanent', protocol: RTPROT_VXGOSSIP },
  // An operator's neighbour is not ours.
  { ifindex: 11, ip: '10.42.0.9', mac: M2, state: 'permanent' },
];
const routes: Route[] = [
  {
    dst: '10.100.0.3/32',
    table: 1_000_000_100,
    protocol: RTPROT_VXGOSSIP,
    encap: { id: 100n, dst: '198.18.0.3' },
  },
  // The table's blackhole default (no tunnel), another table's route, an operator's route.
  { dst: '0.0.0.0/0', table: 1_000_000_100, protocol: RTPROT_VXGOSSIP, type: 'blackhole' },
  { dst: '10.200.0.3/32', table: 1_000_000_200, protocol: RTPROT_VXGOSSIP, encap: { id: 200n, dst: '198.18.0.3' } },
  { dst: '10.100.0.7/32', table: 1_000_000_100, protocol: 4, encap: { id: 100n, dst: '198.18.0.7' } },
];

const rt = {
  fdb: {
    list: async (ifindex?: number) => fdb.filter((e) => e.ifindex === ifindex),
    listOfBridge: async (bridge: number) => bridgeFdb[bridge] ?? [],
  },
  neighbours: {
    list: async (family: 4 | 6, ifindex?: number) =>
      family === 4 ? neighbours.filter((n) => n.ifindex === ifindex) : [],
  },
  routes: { list: async (family: 4 | 6) => (family === 4 ? routes : []) },
} as unknown as Rtnetlink;

describe('kernel truth: what the kernel holds for the realised VNIs', () => {
  it('reads remote, bridge, neighbour, local and route entries, ours only, sorted by VNI, kind and key', async () => {
    const all = await readKernelTruth(rt, realised, 0);
    assert.deepEqual(
      all.map((e) => [e.vni, e.kind, e.mac, e.ip, e.vtep]),
      [
        [42, 'bridge', M1, '', ''],
        [42, 'local', LOCAL, '', ''],
        [42, 'neighbour', M1, '10.42.0.3', ''],
        [42, 'vxlan', FLOOD, '', '198.18.0.2'],
        [42, 'vxlan', M1, '', '198.18.0.3'],
        [42, 'vxlan', M2, '', '198.18.0.2'],
        [43, 'vxlan', M1, '', '198.18.0.9'],
        [100, 'route', '', '10.100.0.3', '198.18.0.3'],
      ],
    );
  });

  it('reads only the VNI asked for', async () => {
    assert.deepEqual(
      (await readKernelTruth(rt, realised, 43)).map((e) => [e.vni, e.mac]),
      [[43, M1]],
    );
    assert.deepEqual(
      (await readKernelTruth(rt, realised, 100)).map((e) => e.ip),
      ['10.100.0.3'],
    );
  });
});
