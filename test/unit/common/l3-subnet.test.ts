import { strict as assert } from 'node:assert';
import { checkNotGateway, checkRoutedSubnet, checkSubnetsApart, l3Gateway } from '../../../common/l3-subnet';
import { ValidationError } from '../../../common/validation';
import { normaliseVni } from '../../../common/vni';

const refuses = (f: () => void, field: string, message: RegExp) =>
  assert.throws(
    f,
    (err: unknown) => err instanceof ValidationError && err.field === field && message.test(err.message),
  );

describe('L3 subnets: the anycast gateway and routing domains apart', () => {
  it("takes the subnet's first usable address as the gateway", () => {
    assert.equal(l3Gateway('10.100.0.0/24'), '10.100.0.1');
    assert.equal(l3Gateway('10.0.0.0/8'), '10.0.0.1');
    assert.equal(l3Gateway('192.0.2.4/30'), '192.0.2.5');
    assert.equal(l3Gateway('2001:db8:300::/64'), '2001:db8:300::1');
    assert.equal(l3Gateway('2001:db8::/32'), '2001:db8::1');
  });

  it('refuses an l3 subnet with no room for a gateway and an endpoint', () => {
    checkRoutedSubnet('subnet', '10.0.0.0/30');
    checkRoutedSubnet('subnet', '2001:db8::/126');
    refuses(() => checkRoutedSubnet('subnet', '10.0.0.0/31'), 'subnet', /too small to route.*\/30 or shorter/);
    refuses(() => checkRoutedSubnet('subnet', '2001:db8::/127'), 'subnet', /\/126 or shorter/);
    refuses(() => normaliseVni({ id: 1, mode: 'l3', subnet: '10.0.0.4/32' }), 'subnet', /too small/);
    assert.equal(normaliseVni({ id: 1, mode: 'l2', subnet: '10.0.0.4/32' }).subnet, '10.0.0.4/32', 'l2 has no gateway');
  });

  it('refuses the gateway as an endpoint address, however it is written', () => {
    const vni = { id: 300, subnet: '2001:db8:300::/64' };
    refuses(
      () => checkNotGateway('ip', '2001:db8:300:0::1/64', vni),
      'ip',
      /is the gateway of VNI 300 .*2001:db8:300::\/64/,
    );
    checkNotGateway('ip', '2001:db8:300::2/64', vni);
    refuses(
      () => checkNotGateway('ip', '10.100.0.1/24', { id: 100, subnet: '10.100.0.0/24' }),
      'ip',
      /gateway of VNI 100/,
    );
    checkNotGateway('ip', '10.100.0.11/24', { id: 100, subnet: '10.100.0.0/24' });
  });

  it("refuses an l3 subnet overlapping another l3 VNI's; l2 subnets and other families do not count", () => {
    const others = [
      { id: 100, mode: 'l3', subnet: '10.100.0.0/24' },
      { id: 42, mode: 'l2', subnet: '10.42.0.0/24' },
      { id: 300, mode: 'l3', subnet: '2001:db8:300::/64' },
    ];
    refuses(
      () => checkSubnetsApart({ id: 1, mode: 'l3', subnet: '10.0.0.0/8' }, others),
      'subnet',
      /overlaps 10\.100\.0\.0\/24 of l3 VNI 100/,
    );
    refuses(() => checkSubnetsApart({ id: 1, mode: 'l3', subnet: '10.100.0.128/25' }, others), 'subnet', /VNI 100/);
    refuses(() => checkSubnetsApart({ id: 1, mode: 'l3', subnet: '2001:db8::/32' }, others), 'subnet', /VNI 300/);
    checkSubnetsApart({ id: 1, mode: 'l3', subnet: '10.42.0.0/24' }, others);
    checkSubnetsApart({ id: 1, mode: 'l3', subnet: '10.200.0.0/24' }, others);
    checkSubnetsApart({ id: 100, mode: 'l3', subnet: '10.100.0.0/24' }, others);
    checkSubnetsApart({ id: 2, mode: 'l2', subnet: '10.100.0.0/24' }, others);
  });
});
