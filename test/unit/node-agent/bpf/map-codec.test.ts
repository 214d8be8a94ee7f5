import { strict as assert } from 'node:assert';
import { endianness } from 'node:os';
import {
  BpfDecodeError,
  localEndpointCodec,
  remoteEndpointCodec,
  workloadInterfaceCodec,
} from '../../../../node-agent/bpf/map-codec';

// The layouts of program/datapath.bpf.c, byte for byte; integers in the host's order.
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return b.toString('hex');
};

describe('BPF map codec', () => {
  it('writes an IPv4 endpoint key: VNI, family 4, three pad bytes, the address then zeros', () => {
    const key = remoteEndpointCodec.encodeKey({ vni: 100, address: '198.19.100.2' });
    assert.equal(key.toString('hex'), `${u32(100)}04000000c6136402${'00'.repeat(12)}`);
  });

  it('writes an IPv6 endpoint key with family 6 and all 16 bytes', () => {
    const key = localEndpointCodec.encodeKey({ vni: 0xffffff, address: '2001:db8:100::2' });
    assert.equal(key.toString('hex'), `${u32(0xffffff)}06000000${'20010db8010000000000000000000002'}`);
  });

  it('writes a remote endpoint: VTEP, its family, a pad byte, the MAC, the tunnel ifindex', () => {
    const v4 = remoteEndpointCodec.encodeValue({ vtep: '198.18.0.11', mac: '02:76:c6:12:00:0b', tunnelIfindex: 7 });
    assert.equal(v4.toString('hex'), `c612000b${'00'.repeat(12)}0400${'0276c612000b'}${u32(7)}`);
    const v6 = remoteEndpointCodec.encodeValue({ vtep: '2001:db8:ff::11', mac: '02:76:c6:12:00:0b', tunnelIfindex: 7 });
    assert.equal(v6.subarray(0, 18).toString('hex'), '20010db800ff000000000000000000110600');
  });

  it('writes a local endpoint and a workload interface: ifindex or VNI, the MAC, two pad bytes', () => {
    assert.equal(
      localEndpointCodec.encodeValue({ ifindex: 12, mac: '02:00:00:00:64:01' }).toString('hex'),
      `${u32(12)}020000006401${'0000'}`,
    );
    assert.equal(workloadInterfaceCodec.encodeKey(12).toString('hex'), u32(12));
    assert.equal(
      workloadInterfaceCodec.encodeValue({ vni: 200, mac: 'AA:BB:CC:DD:EE:FF' }).toString('hex'),
      `${u32(200)}aabbccddeeff0000`,
    );
  });

  it('reads back what it writes', () => {
    const key = { vni: 42, address: '2001:db8::1' };
    const remote = { vtep: '198.18.0.10', mac: '02:76:c6:12:00:0a', tunnelIfindex: 3 };
    assert.deepEqual(remoteEndpointCodec.decodeKey(remoteEndpointCodec.encodeKey(key)), key);
    assert.deepEqual(remoteEndpointCodec.decodeValue(remoteEndpointCodec.encodeValue(remote)), remote);
    const local = { ifindex: 9, mac: '02:00:00:00:c8:03' };
    assert.deepEqual(localEndpointCodec.decodeValue(localEndpointCodec.encodeValue(local)), local);
    assert.equal(workloadInterfaceCodec.decodeKey(workloadInterfaceCodec.encodeKey(9)), 9);
    const veth = { vni: 7, mac: 'fe:54:00:12:34:56' };
    assert.deepEqual(workloadInterfaceCodec.decodeValue(workloadInterfaceCodec.encodeValue(veth)), veth);
  });

  it('refuses what the kernel would misread', () => {
    assert.throws(() => remoteEndpointCodec.encodeKey({ vni: 0, address: '198.19.0.1' }), /VNI 0 is out of range/);
    assert.throws(() => remoteEndpointCodec.encodeKey({ vni: 1 << 24, address: '198.19.0.1' }), /out of range/);
    assert.throws(() => remoteEndpointCodec.encodeKey({ vni: 5, address: '198.19.0' }), /not an IPv4 or IPv6/);
    assert.throws(
      () => remoteEndpointCodec.encodeValue({ vtep: 'host-b', mac: '02:00:00:00:00:01', tunnelIfindex: 1 }),
      /VTEP "host-b"/,
    );
    assert.throws(() => localEndpointCodec.encodeValue({ ifindex: 0, mac: '02:00:00:00:00:01' }), /ifindex 0/);
    assert.throws(() => localEndpointCodec.encodeValue({ ifindex: 1, mac: '02:00:00:00:00' }), /not a MAC address/);
  });

  it('says why a key from the kernel does not decode', () => {
    assert.throws(() => localEndpointCodec.decodeKey(Buffer.alloc(24, 0xff)), BpfDecodeError);
    assert.throws(() => localEndpointCodec.decodeKey(Buffer.alloc(24, 0xff)), /address family 255/);
    assert.throws(() => localEndpointCodec.decodeValue(Buffer.alloc(11)), /11 bytes, expected 12/);
  });
});
