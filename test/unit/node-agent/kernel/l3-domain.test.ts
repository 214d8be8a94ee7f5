import { strict as assert } from 'node:assert';
import {
  RULE_PRIORITY,
  VNI_TABLE_BASE,
  domainRules,
  vniOfTable,
  vniTable,
} from '../../../../node-agent/kernel/l3-domain';
import type { L3Vni } from '../../../../node-agent/kernel/realised-vnis';

describe('L3 routing domains', () => {
  it('maps every VNI to a table of its own, stably, away from the reserved tables', () => {
    assert.equal(vniTable(100), 1_000_000_100, 'the VNI reads in the table number');
    assert.equal(vniTable(1), VNI_TABLE_BASE + 1);
    assert.equal(vniTable(16_777_215), 1_016_777_215);
    assert.ok(vniTable(16_777_215) < 2 ** 32, 'a table id is 32 bits');
    for (const vni of [1, 2, 253, 254, 255, 4096, 16_777_215]) {
      const t = vniTable(vni);
      assert.ok(![0, 253, 254, 255].includes(t) && t > 255, `${vni} -> ${t}`);
      assert.equal(vniOfTable(t), vni);
      assert.equal(vniTable(vni), t, 'the same table every time');
    }
    for (const vni of [0, 16_777_216, -1, 1.5, NaN]) assert.throws(() => vniTable(vni), RangeError);
    for (const t of [undefined, 0, 253, 254, 255, 1000, VNI_TABLE_BASE, VNI_TABLE_BASE + 16_777_216])
      assert.equal(vniOfTable(t), undefined, `table ${t}`);
  });

  it('steers each domain from its veths, its tunnel key and its subnet, both families; drops the rest', () => {
    const vnis: L3Vni[] = [
      { vni: 100, deviceIndex: 9, device: 'vxl3-8472', subnet: '10.100.0.0/24', datapath: 'lwt' },
      { vni: 300, deviceIndex: 9, device: 'vxl3-8472', subnet: '2001:db8:300::/64', datapath: 'lwt' },
    ];
    const rules = domainRules(
      vnis,
      [
        { vni: 100, hostInterface: 'vxe1' },
        { vni: 999, hostInterface: 'vxe9' },
      ],
      ['vxe7'],
    );
    const shown = rules.map((r) =>
      [
        r.vni,
        r.family,
        r.priority,
        r.iif,
        r.tunId ?? '-',
        r.dst ?? '-',
        r.action === 'lookup' ? r.table : r.action,
      ].join(' '),
    );
    assert.deepEqual(shown.sort(), [
      '0 4 770 vxe7 - - blackhole',
      '0 4 773 vxl3-8472 - - blackhole',
      '0 6 770 vxe7 - - blackhole',
      '0 6 773 vxl3-8472 - - blackhole',
      '100 4 770 vxe1 - - 1000000100',
      '100 4 771 vxl3-8472 100 - 1000000100',
      '100 4 772 lo - 10.100.0.0/24 1000000100',
      '100 4 772 vxl3-8472 - 10.100.0.0/24 1000000100',
      '100 6 770 vxe1 - - 1000000100',
      '100 6 771 vxl3-8472 100 - 1000000100',
      '300 4 771 vxl3-8472 300 - 1000000300',
      '300 6 771 vxl3-8472 300 - 1000000300',
      '300 6 772 lo - 2001:db8:300::/64 1000000300',
      '300 6 772 vxl3-8472 - 2001:db8:300::/64 1000000300',
    ]);
    assert.ok(rules.every((r) => r.protocol === 77));
    assert.ok(
      Object.values(RULE_PRIORITY).every((p) => p > 0 && p < 32766),
      'after local, before main',
    );
  });
});
