import { strict as assert } from 'node:assert';
import {
  blockCidr,
  blockIndexOf,
  blockIndexOfCidr,
  sameAddress,
  subnetBlocks,
  usableAddresses,
} from '../../../common/ipam-blocks';
import { ValidationError } from '../../../common/validation';

describe('IPAM block math', () => {
  it('cuts an IPv4 subnet into /26 blocks and keeps the network, gateway and broadcast addresses out', () => {
    const s = subnetBlocks('10.42.0.0/24');
    assert.equal(s.count, 4n);
    assert.deepEqual(
      [0n, 1n, 2n, 3n].map((i) => blockCidr(s, i)),
      ['10.42.0.0/26', '10.42.0.64/26', '10.42.0.128/26', '10.42.0.192/26'],
    );
    const first = usableAddresses(s, 0n);
    assert.equal(first.length, 62);
    assert.equal(first[0], '10.42.0.2/24', 'the network address and the gateway (.1) are never handed out');
    assert.equal(first[61], '10.42.0.63/24');
    assert.equal(usableAddresses(s, 1n).length, 64);
    const last = usableAddresses(s, 3n);
    assert.equal(last.length, 63);
    assert.equal(last[62], '10.42.0.254/24', 'the broadcast address is never handed out');
  });

  it('makes a subnet smaller than a block one block, with what is left of it', () => {
    const s = subnetBlocks('10.9.0.8/29');
    assert.equal(s.count, 1n);
    assert.equal(blockCidr(s, 0n), '10.9.0.8/29');
    assert.deepEqual(usableAddresses(s, 0n), [
      '10.9.0.10/29',
      '10.9.0.11/29',
      '10.9.0.12/29',
      '10.9.0.13/29',
      '10.9.0.14/29',
    ]);
    assert.deepEqual(usableAddresses(subnetBlocks('10.9.0.0/30'), 0n), ['10.9.0.2/30']);
  });

  it('cuts an IPv6 subnet into /122 blocks (the subnet-router anycast and the gateway kept out)', () => {
    const s = subnetBlocks('2001:db8:100::/64');
    assert.equal(s.count, 1n << 58n);
    assert.equal(blockCidr(s, 1n), '2001:db8:100::40/122');
    assert.equal(blockCidr(s, s.count - 1n), '2001:db8:100:0:ffff:ffff:ffff:ffc0/122');
    const first = usableAddresses(s, 0n);
    assert.equal(first.length, 62);
    assert.equal(first[0], '2001:db8:100::2/64');
    assert.equal(usableAddresses(s, s.count - 1n).length, 64, 'IPv6 has no broadcast address');
    assert.deepEqual(usableAddresses(subnetBlocks('2001:db8::/126'), 0n), ['2001:db8::2/126', '2001:db8::3/126']);
  });

  it('finds the block of an address, and nothing outside the subnet or in the other family', () => {
    const s = subnetBlocks('10.42.0.0/24');
    assert.equal(blockIndexOf(s, '10.42.0.70/24'), 1n);
    assert.equal(blockIndexOf(s, '10.42.0.255'), 3n);
    assert.equal(blockIndexOf(s, '10.42.1.0/24'), undefined);
    assert.equal(blockIndexOf(s, '2001:db8::1'), undefined);
    const v6 = subnetBlocks('2001:db8:100::/64');
    assert.equal(blockIndexOf(v6, '2001:db8:100::41/64'), 1n);
  });

  it('takes a block CIDR only when it is exactly one of the subnet', () => {
    const s = subnetBlocks('10.42.0.0/24');
    assert.equal(blockIndexOfCidr(s, '10.42.0.128/26'), 2n);
    for (const bad of ['10.42.0.32/26', '10.42.0.0/25', '10.43.0.0/26', 'nonsense'])
      assert.throws(() => blockIndexOfCidr(s, bad), ValidationError, bad);
  });

  it('compares addresses, not spellings', () => {
    assert.ok(sameAddress('2001:db8::1/64', '2001:0db8:0::1'));
    assert.ok(!sameAddress('10.0.0.1', '10.0.0.2'));
  });
});
