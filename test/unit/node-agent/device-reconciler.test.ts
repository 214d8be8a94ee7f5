import { strict as assert } from 'node:assert';
import { DeviceReconciler } from '../../../node-agent/kernel/device-reconciler';
import type { BridgePortOptions, KernelLink, LinkChanges, LinkDriver } from '../../../node-agent/kernel/link-driver';
import { l3RouterMac } from '../../../node-agent/kernel/vni-devices';
import type { BridgeSpec, VxlanSpec } from '../../../node-agent/kernel/vni-devices';
import type { VniConfig } from '../../../common/vni';
import { createLogger } from '../../../common/log';

// An in-memory kernel: enough link semantics to check the reconciler's decisions and count writes.
class FakeKernel implements LinkDriver {
  links: KernelLink[] = [
    { index: 2, name: 'eth0', kind: undefined, mtu: 1500, up: true, master: undefined, alias: undefined },
  ];
  ports = new Map<number, BridgePortOptions>();
  writes: string[] = [];
  private nextIndex = 10;

  async listLinks() {
    return this.links.map((l) => ({ ...l, vxlan: l.vxlan && { ...l.vxlan } }));
  }
  async getLink(name: string) {
    return (await this.listLinks()).find((l) => l.name === name);
  }
  async createVxlan(s: VxlanSpec) {
    this.add({
      name: s.name,
      kind: 'vxlan',
      mtu: 1500,
      alias: s.alias,
      vxlan: {
        id: s.vni,
        local: s.local,
        group: s.group || undefined,
        port: s.dstport,
        learning: false,
        external: s.external,
        underlayIndex: s.underlayIndex,
      },
      mac: s.mac,
    });
  }
  async createBridge(s: BridgeSpec) {
    this.add({ name: s.name, kind: 'bridge', mtu: 1500, alias: s.alias });
  }
  async setLink(link: KernelLink, changes: LinkChanges) {
    this.writes.push(`set ${link.name} ${JSON.stringify(changes)}`);
    Object.assign(this.find(link.index), changes);
  }
  async deleteLink(link: KernelLink) {
    this.writes.push(`delete ${link.name}`);
    this.links = this.links.filter((l) => l.index !== link.index);
  }
  async bridgePortOptions(link: KernelLink) {
    return this.ports.get(link.index);
  }
  async setBridgePortOptions(link: KernelLink, o: BridgePortOptions) {
    this.writes.push(`port ${link.name}`);
    this.ports.set(link.index, o);
  }
  private add(l: Partial<KernelLink> & { name: string }) {
    this.writes.push(`create ${l.name}`);
    this.links.push({
      index: this.nextIndex++,
      up: false,
      master: undefined,
      kind: undefined,
      mtu: 1500,
      alias: undefined,
      ...l,
    });
  }
  find(index: number) {
    return this.links.find((l) => l.index === index)!;
  }
  byName(name: string) {
    return this.links.find((l) => l.name === name);
  }
}

const vni = (id: number, over: Partial<VniConfig> = {}): VniConfig => ({
  id,
  name: `vni-${id}`,
  mtu: 0,
  dstport: 4789,
  mode: 'l2',
  multicastGroup: '',
  subnet: '',
  datapath: '',
  revision: 1,
  createTimeMs: 0,
  updateTimeMs: 0,
  ...over,
});

describe('device reconciler (in-memory kernel)', () => {
  let kernel: FakeKernel;
  let reconciler: DeviceReconciler;
  beforeEach(() => {
    kernel = new FakeKernel();
    reconciler = new DeviceReconciler(
      kernel,
      '198.18.0.10',
      async () => ({ ifindex: 2, name: 'eth0', mtu: 1500, family: 4 }),
      createLogger({ component: 'test', write: () => undefined }),
    );
  });

  it('creates bridge and vxlan, enslaves, brings up, sets port options', async () => {
    const status = await reconciler.reconcile([vni(42)], true);
    assert.deepEqual(status, [{ vni: 42, devicesReady: true }]);
    const vx = kernel.byName('vxlan42')!;
    const br = kernel.byName('br42')!;
    assert.equal(vx.master, br.index);
    assert.ok(vx.up && br.up);
    assert.equal(vx.mtu, 1450);
    assert.deepEqual(kernel.ports.get(vx.index), { learning: false, neighSuppress: true });
  });

  it('writes nothing when the devices are already right (a restart)', async () => {
    await reconciler.reconcile([vni(42)], true);
    kernel.writes = [];
    await reconciler.reconcile([vni(42)], true);
    assert.deepEqual(kernel.writes, []);
  });

  it('changes the MTU in place but recreates the vxlan device for a new group', async () => {
    await reconciler.reconcile([vni(42)], true);
    const index = kernel.byName('vxlan42')!.index;
    kernel.writes = [];
    await reconciler.reconcile([vni(42, { mtu: 1400 })], true);
    assert.equal(kernel.byName('vxlan42')!.index, index);
    assert.deepEqual(
      kernel.writes.filter((w) => w.startsWith('create') || w.startsWith('delete')),
      [],
    );
    await reconciler.reconcile([vni(42, { mtu: 1400, multicastGroup: '239.1.1.1' })], true);
    assert.notEqual(kernel.byName('vxlan42')!.index, index);
    assert.equal(kernel.byName('vxlan42')!.vxlan!.group, '239.1.1.1');
  });

  it('isolates a failing VNI and reports why', async () => {
    kernel.links.push({
      index: 5,
      name: 'vxlan77',
      kind: 'dummy',
      mtu: 1500,
      up: true,
      master: undefined,
      alias: undefined,
    });
    kernel.links.push({
      index: 6,
      name: 'br79',
      kind: 'bridge',
      mtu: 1500,
      up: true,
      master: undefined,
      alias: 'mine',
    });
    const status = await reconciler.reconcile(
      [vni(77), vni(78), vni(79), vni(80, { mtu: 1451 }), vni(81, { mode: 'l3', subnet: '10.0.0.0/24' })],
      true,
    );
    const byVni = new Map(status.map((s) => [s.vni, s]));
    assert.match(byVni.get(77)!.error!, /vxlan77 already exists as a dummy link, not vxlan/);
    assert.equal(byVni.get(78)!.devicesReady, true);
    assert.match(byVni.get(79)!.error!, /br79 exists but was not created by vxgossip/);
    assert.match(byVni.get(80)!.error!, /MTU 1451 needs an underlay MTU of at least 1501/);
    assert.equal(byVni.get(81)!.devicesReady, true);
    assert.equal(kernel.byName('vxlan77')!.kind, 'dummy');
  });

  it('realises L3 VNIs on one shared external device per port, and sweeps it when none is left', async () => {
    await reconciler.reconcile(
      [vni(81, { mode: 'l3', subnet: '10.81.0.0/24' }), vni(82, { mode: 'l3', subnet: '10.82.0.0/24' }), vni(42)],
      true,
    );
    const l3 = kernel.byName('vxl3-4789')!;
    assert.equal(l3.vxlan?.external, true);
    assert.equal(l3.mac, l3RouterMac('198.18.0.10'));
    assert.equal(l3.master, undefined, 'not a bridge port');
    assert.equal(kernel.links.filter((l) => l.name.startsWith('vxl3-')).length, 1);
    kernel.writes = [];
    await reconciler.reconcile([vni(81, { mode: 'l3', subnet: '10.81.0.0/24' }), vni(42)], true);
    assert.deepEqual(kernel.writes, [], 'nothing to change');
    await reconciler.reconcile([vni(42)], true);
    assert.equal(kernel.byName('vxl3-4789'), undefined);
  });

  it('sweeps only owned devices, and only when the desired set is complete', async () => {
    await reconciler.reconcile([vni(42), vni(43)], true);
    kernel.links.push({
      index: 99,
      name: 'vxlan44',
      kind: 'vxlan',
      mtu: 1450,
      up: true,
      master: undefined,
      alias: undefined,
    });
    await reconciler.reconcile([vni(42)], false);
    assert.ok(kernel.byName('vxlan43'), 'no sweep without a complete desired set');
    await reconciler.reconcile([vni(42)], true);
    assert.equal(kernel.byName('vxlan43'), undefined);
    assert.equal(kernel.byName('br43'), undefined);
    assert.ok(kernel.byName('vxlan44'), "an operator's vxlan device is never swept");
    assert.ok(kernel.byName('vxlan42'));
  });
});
