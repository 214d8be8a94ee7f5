import { strict as assert } from 'node:assert';
import { DeviceSpecError, ownedVni, ownerAlias, vniDevices } from '../../../node-agent/kernel/vni-devices';
import type { VniConfig } from '../../../common/vni';

const vni = (over: Partial<VniConfig> = {}): VniConfig => ({
  id: 42,
  name: 'vni-42',
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
const eth0 = { ifindex: 2, name: 'eth0', mtu: 1500, family: 4 as const };

describe('VNI device specs', () => {
  it('derives names, VTEP and the MTU from an IPv4 underlay', () => {
    const d = vniDevices(vni(), '198.18.0.10', eth0);
    assert.equal(d.vxlan.name, 'vxlan42');
    assert.equal(d.bridge.name, 'br42');
    assert.equal(d.vxlan.local, '198.18.0.10');
    assert.equal(d.vxlan.mtu, 1450);
    assert.equal(d.bridge.mtu, 1450);
    assert.equal(d.vxlan.underlayIndex, 2);
  });

  it('takes 70 bytes of overhead on an IPv6 underlay', () => {
    assert.equal(vniDevices(vni(), 'fd00::1', { ...eth0, family: 6 }).vxlan.mtu, 1430);
  });

  it('keeps a configured MTU the underlay can carry and refuses one it cannot', () => {
    assert.equal(vniDevices(vni({ mtu: 1400 }), '198.18.0.10', eth0).vxlan.mtu, 1400);
    assert.equal(vniDevices(vni({ mtu: 1450 }), '198.18.0.10', eth0).vxlan.mtu, 1450);
    assert.throws(
      () => vniDevices(vni({ mtu: 1451 }), '198.18.0.10', eth0),
      (e: unknown) => e instanceof DeviceSpecError && /at least 1501, but eth0 has 1500/.test(e.message),
    );
  });

  it('marks ownership in the alias and reads it back', () => {
    assert.equal(ownedVni(ownerAlias(16777215)), 16777215);
    assert.equal(ownedVni('operator note'), undefined);
    assert.equal(ownedVni(undefined), undefined);
    assert.equal(ownedVni('vxgossip:vni=abc'), undefined);
  });
});
