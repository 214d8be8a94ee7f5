import { strict as assert } from 'node:assert';
import {
  ValidationError,
  checkEndpointIp,
  checkInterfaceName,
  checkMulticastGroup,
  checkNetnsName,
  checkUint64,
  isMulticast,
  shown,
} from '../../../common/validation';
import { normaliseVni } from '../../../common/vni';

// Refused, naming the field, with a message matching `pattern` when one is given.
function refuses(fn: () => unknown, field: string, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `not a ValidationError: ${String(err)}`);
    assert.equal(err.field, field);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

const vteps = [
  { node: 'h1', vtep: '198.18.0.1' },
  { node: 'h3', vtep: '198.18.0.3' },
];

describe('address validation (issue #13)', () => {
  describe('endpoint IPs', () => {
    it('accepts a unicast address inside the subnet', () => {
      assert.deepEqual(checkEndpointIp('ip', '10.42.0.5/24', '10.42.0.0/24', vteps), {
        address: '10.42.0.5',
        prefixLength: 24,
        family: 4,
      });
      checkEndpointIp('ip', '10.42.0.5/32', '10.42.0.0/24', vteps);
      checkEndpointIp('ip', '2001:db8::5/64', '2001:db8::/64', vteps);
      checkEndpointIp('ip', '192.168.1.10/24');
    });

    it('refuses another host VTEP, naming the node', () => {
      refuses(() => checkEndpointIp('ip', '198.18.0.3/32', '', vteps), 'ip', /VTEP of node h3/);
      refuses(
        () => checkEndpointIp('ip', '::ffff:198.18.0.1/128', '', vteps),
        'ip',
        /node h1|IPv4|not an address|unicast/,
      );
    });

    it('refuses unspecified, loopback, link-local, multicast and broadcast addresses', () => {
      refuses(() => checkEndpointIp('ip', '0.0.0.0/0'), 'ip', /unspecified/);
      refuses(() => checkEndpointIp('ip', '127.0.0.1/8'), 'ip', /loopback/);
      refuses(() => checkEndpointIp('ip', '::1/128'), 'ip', /loopback/);
      refuses(() => checkEndpointIp('ip', '::/128'), 'ip', /unspecified/);
      refuses(() => checkEndpointIp('ip', '169.254.1.1/16'), 'ip', /link-local/);
      refuses(() => checkEndpointIp('ip', 'fe80::1/64'), 'ip', /link-local/);
      refuses(() => checkEndpointIp('ip', '224.0.0.1/32'), 'ip', /multicast/);
      refuses(() => checkEndpointIp('ip', 'ff05::1/128'), 'ip', /multicast/);
      refuses(() => checkEndpointIp('ip', '255.255.255.255/32'), 'ip', /broadcast/);
      refuses(() => checkEndpointIp('ip', '10.42.0.255/24'), 'ip', /broadcast address of 10.42.0.255\/24/);
      refuses(() => checkEndpointIp('ip', '10.42.0.255/32', '10.42.0.0/24'), 'ip', /broadcast/);
      refuses(() => checkEndpointIp('ip', '10.42.0.0/24'), 'ip', /network address/);
    });

    it('refuses addresses outside the VNI subnet and prefixes wider than it', () => {
      refuses(
        () => checkEndpointIp('ip', '10.43.0.5/24', '10.42.0.0/24'),
        'ip',
        /outside the VNI's subnet 10.42.0.0\/24/,
      );
      refuses(() => checkEndpointIp('ip', '2001:db8::5/64', '10.42.0.0/24'), 'ip', /outside/);
      refuses(() => checkEndpointIp('ip', '10.42.0.5/16', '10.42.0.0/24'), 'ip', /wider than the VNI's subnet/);
      refuses(() => checkEndpointIp('ip', '10.1.2.3/0'), 'ip', /prefix length 0/);
    });

    it('refuses what is not an address with a prefix', () => {
      refuses(() => checkEndpointIp('ip', '10.42.0.5'), 'ip');
      refuses(() => checkEndpointIp('ip', '127.1/8'), 'ip');
      refuses(() => checkEndpointIp('ip', 'fe80::1%eth0/64'), 'ip');
    });
  });

  describe('multicast groups', () => {
    it('parses addresses instead of comparing strings', () => {
      assert.ok(!isMulticast('ff0::'));
      assert.ok(!isMulticast('FF0::1'));
      refuses(() => checkMulticastGroup('group', 'ff0::'), 'group', /not a multicast address/);
    });

    it('refuses the link-local and interface-local blocks', () => {
      refuses(() => checkMulticastGroup('group', '224.0.0.1'), 'group', /224\.0\.0\.0\/24/);
      refuses(() => checkMulticastGroup('group', '224.0.0.251'), 'group', /reserved/);
      refuses(() => checkMulticastGroup('group', 'ff02::1'), 'group', /ff02::\/16/);
      refuses(() => checkMulticastGroup('group', 'ff01::1'), 'group', /ff01::\/16/);
      refuses(() => checkMulticastGroup('group', 'ff12::1'), 'group', /link-local/);
      refuses(() => checkMulticastGroup('group', '::ffff:239.1.1.1'), 'group', /not a multicast address/);
      assert.equal(checkMulticastGroup('group', '239.1.1.1'), '239.1.1.1');
      assert.equal(checkMulticastGroup('group', '224.0.1.1'), '224.0.1.1');
      assert.equal(checkMulticastGroup('group', 'ff05::1'), 'ff05::1');
    });

    it("refuses a group of another family than the VTEPs'", () => {
      refuses(
        () => checkMulticastGroup('group', 'ff05::1', vteps),
        'group',
        /IPv6 group but node h1's VTEP 198.18.0.1 is IPv4/,
      );
      assert.equal(checkMulticastGroup('group', '239.1.1.1', vteps), '239.1.1.1');
    });
  });

  describe('VNI subnets', () => {
    it('refuses host bits, naming the canonical form', () => {
      assert.throws(
        () => normaliseVni({ id: 1, subnet: '10.0.0.5/8' }),
        /subnet: "10.0.0.5\/8" has host bits set; did you mean 10.0.0.0\/8\?/,
      );
      assert.throws(() => normaliseVni({ id: 1, subnet: '2001:db8::1/64' }), /did you mean 2001:db8::\/64\?/);
      assert.equal(normaliseVni({ id: 1, subnet: '2001:db8::/64' }).subnet, '2001:db8::/64');
    });

    it('refuses the whole address space', () => {
      refuses(() => normaliseVni({ id: 1, mode: 'l3', subnet: '0.0.0.0/0' }), 'subnet', /every address/);
      refuses(() => normaliseVni({ id: 1, mode: 'l3', subnet: '::/0' }), 'subnet', /every address/);
    });
  });

  describe('integers, names and echoes', () => {
    it('refuses uint64 values a number cannot hold exactly, never rounding', () => {
      assert.equal(checkUint64('expected_revision', '9007199254740991'), Number.MAX_SAFE_INTEGER);
      assert.equal(checkUint64('expected_revision', '0'), 0);
      refuses(() => checkUint64('expected_revision', '18446744073709551615'), 'expected_revision', /9007199254740991/);
      refuses(() => checkUint64('expected_revision', '9007199254740993'), 'expected_revision');
      refuses(() => checkUint64('expected_revision', '-1'), 'expected_revision');
    });

    it("refuses '%' in interface names (the kernel's name template)", () => {
      refuses(() => checkInterfaceName('interface', 'x%d'), 'interface', /'%'/);
    });

    it('bounds namespace names as /run/netns does', () => {
      assert.equal(checkNetnsName('netns', 'n'.repeat(255)), 'n'.repeat(255));
      refuses(() => checkNetnsName('netns', 'n'.repeat(256)), 'netns', /255 bytes/);
      refuses(() => checkNetnsName('netns', 'é'.repeat(128)), 'netns');
      refuses(() => checkNetnsName('netns', 'a/b'), 'netns');
      refuses(() => checkNetnsName('netns', '..'), 'netns');
      refuses(() => checkNetnsName('netns', ''), 'netns');
    });

    it('truncates echoed values', () => {
      assert.equal(shown('abc'), '"abc"');
      assert.equal(shown('x'.repeat(1000)), `"${'x'.repeat(64)}…"`);
      for (const fn of [
        () => checkInterfaceName('interface', 'x'.repeat(1_000_000)),
        () => normaliseVni({ id: 1, name: 'x'.repeat(1_000_000) }),
        () => checkMulticastGroup('group', 'x'.repeat(1_000_000)),
        () => normaliseVni({ id: 'x'.repeat(1_000_000) }),
      ]) {
        assert.throws(fn, (err: Error) => err.message.length < 300);
      }
    });
  });
});
