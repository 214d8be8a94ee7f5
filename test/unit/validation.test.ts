import { strict as assert } from 'node:assert';
import {
  ValidationError,
  checkInterfaceName,
  checkNodeName,
  checkUnicastMac,
  isMulticast,
  parseCidr,
  parseHostPort,
} from '../../common/validation';
import { checkPortSharing, normaliseVni } from '../../common/vni';

function rejects(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ValidationError && err.field === field);
}

describe('validation', () => {
  it('fills VNI defaults', () => {
    assert.deepEqual(normaliseVni({ id: 42 }), {
      id: 42,
      name: 'vni-42',
      mtu: 0,
      dstport: 4789,
      mode: 'l2',
      multicastGroup: '',
      subnet: '',
      datapath: '',
    });
  });

  it('accepts the VNI range bounds and rejects outside it', () => {
    assert.equal(normaliseVni({ id: 1 }).id, 1);
    assert.equal(normaliseVni({ id: 16777215 }).id, 16777215);
    rejects(() => normaliseVni({ id: 0 }), 'id');
    rejects(() => normaliseVni({ id: 16777216 }), 'id');
    rejects(() => normaliseVni({ id: 4.5 }), 'id');
    rejects(() => normaliseVni({ id: '12abc' }), 'id');
  });

  it('knows multicast ranges', () => {
    assert.ok(isMulticast('224.0.0.1'));
    assert.ok(isMulticast('239.255.255.255'));
    assert.ok(!isMulticast('223.255.255.255'));
    assert.ok(!isMulticast('240.0.0.1'));
    assert.ok(isMulticast('ff02::1'));
    assert.ok(!isMulticast('fe80::1'));
    assert.ok(!isMulticast('nonsense'));
  });

  it('normalises subnets and rejects malformed ones', () => {
    assert.equal(normaliseVni({ id: 1, subnet: '10.42.0.0/24' }).subnet, '10.42.0.0/24');
    assert.deepEqual(parseCidr('x', '2001:db8::/64'), { address: '2001:db8::', prefixLength: 64, family: 6 });
    rejects(() => parseCidr('subnet', '10.42.0.0'), 'subnet');
    rejects(() => parseCidr('subnet', '10.42.0.0/'), 'subnet');
    rejects(() => parseCidr('subnet', '2001:db8::/129'), 'subnet');
    rejects(() => parseCidr('subnet', '300.1.1.1/8'), 'subnet');
  });

  it('accepts endpoint MACs and rejects zero, multicast and malformed ones', () => {
    assert.equal(checkUnicastMac('mac', '02:42:0A:2A:00:02'), '02:42:0a:2a:00:02');
    assert.equal(checkUnicastMac('mac', '02-42-0a-2a-00-02'), '02:42:0a:2a:00:02');
    rejects(() => checkUnicastMac('mac', '00:00:00:00:00:00'), 'mac');
    rejects(() => checkUnicastMac('mac', 'ff:ff:ff:ff:ff:ff'), 'mac');
    rejects(() => checkUnicastMac('mac', '01:00:5e:00:00:01'), 'mac');
    rejects(() => checkUnicastMac('mac', '02:42:0a:2a:00'), 'mac');
  });

  it('checks interface and node names', () => {
    assert.equal(checkInterfaceName('if', 'vxlan16777215'), 'vxlan16777215');
    rejects(() => checkInterfaceName('if', 'a-very-long-name0'), 'if');
    rejects(() => checkInterfaceName('if', 'a/b'), 'if');
    assert.equal(checkNodeName('node', 'host-1.example'), 'host-1.example');
    rejects(() => checkNodeName('node', '-host'), 'node');
    rejects(() => checkNodeName('node', ''), 'node');
  });

  it('parses HOST:PORT forms', () => {
    assert.deepEqual(parseHostPort('a', '127.0.0.1:50051'), { host: '127.0.0.1', port: 50051 });
    assert.deepEqual(parseHostPort('a', '[::1]:7946'), { host: '::1', port: 7946 });
    assert.deepEqual(parseHostPort('a', 'host1', 7946), { host: 'host1', port: 7946 });
    assert.deepEqual(parseHostPort('a', '127.0.0.1:0', undefined, 0), { host: '127.0.0.1', port: 0 });
    rejects(() => parseHostPort('a', '127.0.0.1:0'), 'a');
    rejects(() => parseHostPort('a', 'host1'), 'a');
    rejects(() => parseHostPort('a', ':80'), 'a');
  });

  it('gives l3 VNIs their own default UDP port and refuses l2/l3 port sharing', () => {
    assert.equal(normaliseVni({ id: 50, mode: 'l3', subnet: '10.50.0.0/24' }).dstport, 8472);
    const l2 = { id: 42, mode: 'l2' as const, dstport: 4789 };
    assert.throws(
      () => checkPortSharing({ id: 50, mode: 'l3', dstport: 4789 }, [l2]),
      /dstport: UDP port 4789 is used by l2 VNI 42/,
    );
    checkPortSharing({ id: 43, mode: 'l2', dstport: 4789 }, [l2]);
    checkPortSharing({ id: 50, mode: 'l3', dstport: 8472 }, [l2]);
  });

  it('gives l3 VNIs a datapath, lwt by default, and refuses one for l2 or an unknown one', () => {
    const l3 = { id: 50, mode: 'l3', subnet: '10.50.0.0/24' };
    assert.equal(normaliseVni(l3).datapath, 'lwt');
    assert.equal(normaliseVni({ ...l3, datapath: '' }).datapath, 'lwt');
    assert.equal(normaliseVni({ ...l3, datapath: 'bpf' }).datapath, 'bpf');
    assert.throws(() => normaliseVni({ ...l3, datapath: 'xdp' }), /datapath: "xdp" must be lwt or bpf/);
    for (const datapath of ['bpf', 'lwt'])
      assert.throws(
        () => normaliseVni({ id: 42, datapath }),
        new RegExp(`datapath: "${datapath}" applies to l3 VNIs only`),
      );
  });

  it('refuses an lwt and a bpf VNI on one UDP port, naming the other VNI', () => {
    const lwt = { id: 100, mode: 'l3' as const, dstport: 8472, datapath: 'lwt' as const };
    assert.throws(
      () => checkPortSharing({ id: 200, mode: 'l3', dstport: 8472, datapath: 'bpf' }, [lwt]),
      (err: ValidationError) =>
        err.field === 'datapath' &&
        /UDP port 8472 is used by l3 VNI 100 on the lwt datapath; bpf and lwt VNIs cannot share a port/.test(
          err.message,
        ) &&
        /--dstport or --datapath lwt/.test(err.message),
    );
    // A VNI stored before datapaths (none recorded) is lwt.
    assert.throws(
      () => checkPortSharing({ id: 200, mode: 'l3', dstport: 8472, datapath: 'bpf' }, [{ ...lwt, datapath: '' }]),
      /VNI 100 on the lwt datapath/,
    );
    checkPortSharing({ id: 200, mode: 'l3', dstport: 8472, datapath: 'lwt' }, [lwt]);
    checkPortSharing({ id: 200, mode: 'l3', dstport: 4790, datapath: 'bpf' }, [lwt]);
    checkPortSharing({ id: 100, mode: 'l3', dstport: 8472, datapath: 'bpf' }, [lwt]);
  });
});
