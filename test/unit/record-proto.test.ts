import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { messageCodec } from '../../common/proto-codec';
import { recordFromProto, recordToProto } from '../../common/record-proto';
import { ValidationError } from '../../common/validation';
import type { StateRecord } from '../../common/fdb-state/record';
import type { RecordBatch, RecordBatch__Output } from '../../generated/vxgossip/v1/RecordBatch';

const codec = messageCodec<RecordBatch, RecordBatch__Output>('vxgossip.v1.RecordBatch');

const endpoint: StateRecord = {
  owner: 'h1',
  version: { incarnation: 3, counter: 17 },
  tombstone: false,
  originTimeMs: 1_795_000_000_123,
  body: {
    kind: 'endpoint',
    vni: 16777215,
    mac: '02:42:0a:2a:00:02',
    ips: ['10.42.0.2/24', 'fd00::2/64'],
    vtep: '198.18.0.10',
    mobilitySeq: 4,
    origin: 'api',
  },
};
const membership: StateRecord = {
  owner: 'h2',
  version: { incarnation: 1, counter: 1 },
  tombstone: true,
  originTimeMs: 5,
  body: { kind: 'membership', vni: 42, vtep: 'fd00::12' },
};

function roundTrip(records: StateRecord[]): StateRecord[] {
  const bytes = codec.encode({ records: records.map(recordToProto) });
  return codec.decode(bytes).records.map(recordFromProto);
}

describe('gossip record codec', () => {
  it('round-trips endpoint and membership records through protobuf bytes', () => {
    assert.deepEqual(roundTrip([endpoint, membership]), [endpoint, membership]);
  });

  it("carries an attached endpoint's namespace and interface, and leaves out ones it cannot show", () => {
    const attached = { ...endpoint, body: { ...endpoint.body, netns: 'ns-web', interface: 'eth1' } } as StateRecord;
    assert.deepEqual(roundTrip([attached]), [attached]);
    for (const netns of ['x'.repeat(256), 'ns\u001b[31m']) {
      const odd = { ...endpoint, body: { ...endpoint.body, netns, interface: 'eth1' } } as StateRecord;
      assert.deepEqual(roundTrip([odd]), [endpoint], 'the endpoint still counts, without the text');
    }
    const badInterface = { ...endpoint, body: { ...endpoint.body, netns: 'ns-web', interface: 'a/b' } } as StateRecord;
    assert.deepEqual(roundTrip([badInterface]), [{ ...endpoint, body: { ...endpoint.body, netns: 'ns-web' } }]);
  });

  it('keeps a batch of 10 endpoints inside one 1400-byte memberlist packet', () => {
    const batch = Array.from({ length: 10 }, (_, i) => ({
      ...endpoint,
      body: { ...endpoint.body, mac: `02:42:0a:2a:00:${i.toString(16).padStart(2, '0')}` } as StateRecord['body'],
    }));
    assert.ok(codec.encode({ records: batch.map(recordToProto) }).length < 1400);
  });

  const lies: Array<[string, (p: any) => void, string]> = [
    ['a VNI of 0', (p) => (p.endpoint.vni = 0), 'endpoint.vni'],
    ['a broadcast MAC', (p) => (p.endpoint.mac = 'ff:ff:ff:ff:ff:ff'), 'endpoint.mac'],
    ['an IP without prefix', (p) => (p.endpoint.ips = ['10.0.0.1']), 'endpoint.ips'],
    ['17 IPs', (p) => (p.endpoint.ips = Array.from({ length: 17 }, (_, i) => `10.0.0.${i}/32`)), 'endpoint.ips'],
    ['a VTEP that is not an address', (p) => (p.endpoint.vtep = 'evil'), 'endpoint.vtep'],
    ['an owner name with a space', (p) => (p.owner = 'a b'), 'record.owner'],
    ['counter 0', (p) => (p.version.counter = 0), 'record.version.counter'],
    ['an incarnation past uint32', (p) => (p.version.incarnation = '4294967296'), 'record.version.incarnation'],
    ['an incarnation of 2^64-1', (p) => (p.version.incarnation = '18446744073709551615'), 'record.version.incarnation'],
    ['a counter past 2^53', (p) => (p.version.counter = '9007199254740993'), 'record.version.counter'],
    ['no body', (p) => delete p.endpoint, 'record.body'],
  ];
  for (const [what, mutate, field] of lies) {
    it(`rejects a record with ${what}, naming ${field}`, () => {
      const proto = JSON.parse(JSON.stringify(recordToProto(endpoint)));
      mutate(proto);
      const decoded = codec.decode(codec.encode({ records: [proto] }));
      assert.throws(
        () => recordFromProto(decoded.records[0]),
        (e: unknown) => e instanceof ValidationError && e.field === field,
      );
    });
  }

  it('throws an Error (never crashes) on 20,000 random and mutated buffers', () => {
    const valid = codec.encode({ records: [recordToProto(endpoint), recordToProto(membership)] });
    let decodedOk = 0;
    for (let i = 0; i < 20_000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) buf = randomBytes(i % 300);
      else {
        buf = Buffer.from(valid.subarray(0, (i * 7) % (valid.length + 1)));
        if (buf.length > 0) buf[(i * 13) % buf.length] ^= 1 << (i % 8);
      }
      try {
        const msg = codec.decode(buf);
        for (const r of msg.records) {
          try {
            recordFromProto(r);
          } catch (e) {
            assert.ok(e instanceof ValidationError, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
          }
        }
        decodedOk++;
      } catch (e) {
        assert.ok(e instanceof Error);
      }
    }
    assert.ok(decodedOk > 0);
  });
});
