import { strict as assert } from 'node:assert';
import { HeldEntry, ServedEntry, VniKind, diffHost } from '../../../ctl/fdb-diff';

const FLOOD = '00:00:00:00:00:00';
const mac1 = '02:00:00:00:00:01';
const mac2 = '02:00:00:00:00:02';

const unicast = (vni: number, mac: string, node: string, vtep: string, ips: string[] = []): ServedEntry => ({
  vni,
  mac,
  vtep,
  node,
  flood: false,
  ips,
});
const flood = (vni: number, node: string, vtep: string): ServedEntry => ({
  vni,
  mac: FLOOD,
  vtep,
  node,
  flood: true,
  ips: [],
});
const held = (vni: number, kind: string, x: Partial<HeldEntry>): HeldEntry => ({
  vni,
  kind,
  mac: x.mac ?? '',
  vtep: x.vtep ?? '',
  ip: x.ip ?? '',
});

// What host h1 must hold in L2 VNI 42 for mac1 on h2 (10.42.0.2) and h2's flood entry.
const l2Served = [
  unicast(42, mac1, 'h2', '198.18.0.2', ['10.42.0.2/24']),
  flood(42, 'h2', '198.18.0.2'),
  flood(42, 'h1', '198.18.0.1'),
];
const l2Held = [
  held(42, 'vxlan', { mac: mac1, vtep: '198.18.0.2' }),
  held(42, 'vxlan', { mac: FLOOD, vtep: '198.18.0.2' }),
  held(42, 'bridge', { mac: mac1 }),
  held(42, 'neighbour', { ip: '10.42.0.2', mac: mac1 }),
];
const l2: ReadonlyMap<number, VniKind> = new Map([[42, 'l2-head-end']]);

const diffOf = (h: HeldEntry[], served = l2Served, configured = l2, realised = [42]) =>
  diffHost({ host: 'h1', configured, realised, held: h }, served);

describe('fdb diff: the server view against one host kernel', () => {
  it('finds nothing when the kernel holds exactly what the view wants (own entries excluded)', () => {
    assert.deepEqual(diffOf(l2Held), []);
  });

  it('names a missing vxlan entry with the VTEP the server wants', () => {
    const out = diffOf(l2Held.filter((e) => !(e.kind === 'vxlan' && e.mac === mac1)));
    assert.deepEqual(out, [
      { node: 'h1', vni: 42, kind: 'vxlan', key: mac1, problem: 'missing', server: '198.18.0.2', kernel: '' },
    ]);
  });

  it('names a MAC sent to another VTEP as different, and a second VTEP for it as extra', () => {
    const moved = l2Held.map((e) => (e.kind === 'vxlan' && e.mac === mac1 ? { ...e, vtep: '198.18.0.3' } : e));
    assert.deepEqual(diffOf(moved), [
      {
        node: 'h1',
        vni: 42,
        kind: 'vxlan',
        key: mac1,
        problem: 'different',
        server: '198.18.0.2',
        kernel: '198.18.0.3',
      },
    ]);
    const twice = [...l2Held, held(42, 'vxlan', { mac: mac1, vtep: '198.18.0.9' })];
    assert.deepEqual(diffOf(twice), [
      { node: 'h1', vni: 42, kind: 'vxlan', key: mac1, problem: 'extra', server: '', kernel: '198.18.0.9' },
    ]);
  });

  it('names extra entries: a MAC no host announces, a flood entry to a VTEP that is no member', () => {
    const out = diffOf([
      ...l2Held,
      held(42, 'vxlan', { mac: mac2, vtep: '198.18.0.5' }),
      held(42, 'vxlan', { mac: FLOOD, vtep: '198.18.0.5' }),
    ]);
    assert.deepEqual(
      out.map((d) => [d.kind, d.key, d.problem, d.kernel]),
      [
        ['vxlan', FLOOD, 'extra', '198.18.0.5'],
        ['vxlan', mac2, 'extra', '198.18.0.5'],
      ],
    );
  });

  it('checks the bridge entry and the neighbour of each remote MAC', () => {
    const out = diffOf([
      ...l2Held.filter((e) => e.kind !== 'bridge' && e.kind !== 'neighbour'),
      held(42, 'neighbour', { ip: '10.42.0.2', mac: mac2 }),
    ]);
    assert.deepEqual(
      out.map((d) => [d.kind, d.key, d.problem, d.server, d.kernel]),
      [
        ['bridge', mac1, 'missing', '', ''],
        ['neighbour', '10.42.0.2', 'different', mac1, mac2],
      ],
    );
  });

  it('wants no flood entries in a multicast VNI', () => {
    const configured = new Map<number, VniKind>([[42, 'l2-multicast']]);
    const out = diffOf(
      l2Held.filter((e) => e.mac !== FLOOD),
      l2Served,
      configured,
    );
    assert.deepEqual(out, []);
  });

  it('ignores local MACs: they are the host announcing, not programming', () => {
    assert.deepEqual(diffOf([...l2Held, held(42, 'local', { mac: mac2 })]), []);
  });

  it('names a configured VNI the host has not realised, and compares nothing in it', () => {
    const configured = new Map<number, VniKind>([
      [42, 'l2-head-end'],
      [43, 'l2-head-end'],
    ]);
    const out = diffOf(l2Held, [...l2Served, unicast(43, mac2, 'h2', '198.18.0.2')], configured, [42]);
    assert.deepEqual(out, [
      { node: 'h1', vni: 43, kind: 'vni', key: '43', problem: 'missing', server: 'realised', kernel: '' },
    ]);
  });

  it('calls entries of a VNI the host realised but the server does not configure extra', () => {
    const out = diffOf([...l2Held, held(44, 'vxlan', { mac: mac2, vtep: '198.18.0.2' })], l2Served, l2, [42, 44]);
    assert.deepEqual(
      out.map((d) => [d.vni, d.problem]),
      [[44, 'extra']],
    );
  });

  it('compares the routes of an L3 VNI (address -> VTEP) and leaves a BPF one alone', () => {
    const configured = new Map<number, VniKind>([
      [100, 'l3-routes'],
      [200, 'l3-bpf'],
    ]);
    const served = [
      unicast(100, mac1, 'h2', '198.18.0.2', ['10.100.0.2/24']),
      unicast(100, mac2, 'h3', '198.18.0.3', ['10.100.0.3/24']),
      flood(100, 'h2', '198.18.0.2'),
      unicast(200, mac1, 'h2', '198.18.0.2', ['10.200.0.2/24']),
    ];
    const out = diffHost(
      {
        host: 'h1',
        configured,
        realised: [100, 200],
        held: [held(100, 'route', { ip: '10.100.0.2', vtep: '198.18.0.9' }), held(200, 'route', { ip: '10.200.0.9' })],
      },
      served,
    );
    assert.deepEqual(
      out.map((d) => [d.vni, d.kind, d.key, d.problem, d.server, d.kernel]),
      [
        [100, 'route', '10.100.0.2', 'different', '198.18.0.2', '198.18.0.9'],
        [100, 'route', '10.100.0.3', 'missing', '198.18.0.3', ''],
      ],
    );
  });
});
