import { strict as assert } from 'node:assert';
import { BpfMap } from '../../../../node-agent/bpf/bpf-map';
import { EndpointKey, LocalEndpoint, localEndpointCodec } from '../../../../node-agent/bpf/map-codec';
import { encodeEntries, syncMap } from '../../../../node-agent/bpf/map-sync';
import { MemoryBpfMap } from '../../../helpers/memory-bpf-map';

const entry = (n: number, ifindex = 10 + n) => ({
  key: { vni: 100, address: `198.19.100.${n}` },
  value: { ifindex, mac: `02:00:00:00:64:0${n}` },
});

describe('BPF map sync', () => {
  let backend: MemoryBpfMap;
  let map: BpfMap<EndpointKey, LocalEndpoint>;
  beforeEach(() => {
    backend = new MemoryBpfMap();
    map = new BpfMap('local_eps', localEndpointCodec, backend);
  });

  it('writes what is missing, then nothing on a second pass', () => {
    assert.deepEqual(syncMap(map, [entry(1), entry(2)]), {
      written: 2,
      deleted: 0,
      failures: [],
      failedKeys: [],
      repaired: 0,
    });
    assert.equal(backend.writes, 2);
    assert.deepEqual(syncMap(map, [entry(2), entry(1)]), {
      written: 0,
      deleted: 0,
      failures: [],
      failedKeys: [],
      repaired: 0,
    });
    assert.equal(backend.writes, 2);
    assert.deepEqual(
      map.dump().sort((a, b) => a.key.address.localeCompare(b.key.address)),
      [entry(1), entry(2)],
    );
  });

  it('rewrites only a changed value and deletes only what nobody wants', () => {
    syncMap(map, [entry(1), entry(2), entry(3)]);
    const result = syncMap(map, [entry(1), entry(2, 99)]);
    assert.deepEqual(result, { written: 1, deleted: 1, failures: [], failedKeys: [], repaired: 0 });
    assert.deepEqual(map.dump().find((e) => e.key.address === '198.19.100.2')?.value.ifindex, 99);
  });

  it('counts as repaired what changed out of band since the last sync, not what is wanted anew', () => {
    const previous = encodeEntries(map, [entry(1), entry(2)]);
    syncMap(map, [entry(1), entry(2)]);
    backend.table.delete([...previous.keys()][0]);
    backend.table.set('ff'.repeat(24), Buffer.alloc(12));
    const result = syncMap(map, [entry(1), entry(2), entry(3)], { previous });
    assert.deepEqual([result.written, result.deleted, result.repaired], [2, 1, 2], 'entry 1 back and the junk gone');
  });

  it('deletes an entry that does not even decode (written by hand)', () => {
    backend.table.set('ff'.repeat(24), Buffer.alloc(12));
    assert.deepEqual(syncMap(map, [entry(1)]), { written: 1, deleted: 1, failures: [], failedKeys: [], repaired: 0 });
    assert.equal(backend.table.size, 1);
  });

  it('goes on past a refused write and reports it, naming the map and what to do', () => {
    backend.refuse = Object.assign(new Error('updating map local_eps: Argument list too long'), { errno: 7 });
    const result = syncMap(map, [entry(1), entry(2)]);
    assert.equal(result.written, 0);
    assert.equal(result.failures.length, 2);
    assert.equal(result.failures[0].code, 'E2BIG');
    assert.deepEqual(
      result.failedKeys,
      [entry(1), entry(2)].map((e) => localEndpointCodec.encodeKey(e.key).toString('hex')),
    );
    assert.match(result.failures[0].message, /local_eps.*the map is full/);
  });

  it('leaves entries nobody wants while told not to remove (a restart grace period)', () => {
    syncMap(map, [entry(1), entry(2)]);
    assert.deepEqual(syncMap(map, [entry(1, 50)], { remove: false }), {
      written: 1,
      deleted: 0,
      failures: [],
      failedKeys: [],
      repaired: 0,
    });
    assert.equal(backend.table.size, 2);
    assert.equal(syncMap(map, [entry(1, 50)]).deleted, 1);
  });
});
