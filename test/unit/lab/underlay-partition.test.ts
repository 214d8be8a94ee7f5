import { strict as assert } from 'node:assert';
import { HEAL_SCRIPT, partitionScript } from '../../../lab/underlay-partition';
import { parseEndpointStatus } from '../../../lab/etcd-status';

describe('lab: underlay partitions (nft scripts)', () => {
  it('cuts an address off from everyone, in both directions, on the bridge', () => {
    const script = partitionScript(['198.18.0.12']);
    assert.match(script, /add chain bridge vxgossip_partition forward \{ type filter hook forward/);
    assert.match(script, /add rule bridge vxgossip_partition forward ip saddr \{ 198\.18\.0\.12 \} drop/);
    assert.match(script, /add rule bridge vxgossip_partition forward ip daddr \{ 198\.18\.0\.12 \} drop/);
  });

  it('cuts only between the two sides when `from` is given', () => {
    const script = partitionScript(['198.18.0.12'], ['198.18.0.10', '198.18.0.11']);
    assert.match(script, /ip saddr \{ 198\.18\.0\.12 \} ip daddr \{ 198\.18\.0\.10, 198\.18\.0\.11 \} drop/);
    assert.match(script, /ip saddr \{ 198\.18\.0\.10, 198\.18\.0\.11 \} ip daddr \{ 198\.18\.0\.12 \} drop/);
    assert.doesNotMatch(script, /saddr \{ 198\.18\.0\.12 \} drop/);
  });

  it('refuses what is not an IPv4 address, naming it', () => {
    assert.throws(() => partitionScript(['etcd1']), /cut "etcd1" is not an IPv4 address/);
    assert.throws(() => partitionScript([]), /no cut addresses/);
    assert.throws(() => partitionScript(['198.18.0.12'], ['198.18.0.1; flush ruleset']), /from "198\.18\.0\.1; flush/);
  });

  it('heals by deleting the one table, also when nothing was cut', () => {
    assert.equal(HEAL_SCRIPT, 'add table bridge vxgossip_partition\ndelete table bridge vxgossip_partition\n');
  });
});

describe('lab: etcdctl endpoint status', () => {
  it('keeps uint64 member IDs exact', () => {
    const json =
      '[{"Endpoint":"http://198.18.0.10:2379","Status":{"header":{"cluster_id":15118495548433857066,' +
      '"member_id":13668033151171901709,"revision":7,"raft_term":2},"version":"3.4.23","dbSize":20480,' +
      '"leader":13668033151171901709,"raftIndex":4,"raftTerm":2,"raftAppliedIndex":4,"dbSizeInUse":16384}}]';
    assert.deepEqual(parseEndpointStatus(json), [
      {
        endpoint: 'http://198.18.0.10:2379',
        memberId: '13668033151171901709',
        leaderId: '13668033151171901709',
        raftTerm: 2,
        raftIndex: 4,
        revision: 7,
        dbSize: 20480,
      },
    ]);
  });

  it('says what etcdctl printed when it is not JSON', () => {
    assert.throws(() => parseEndpointStatus('Error: context deadline exceeded'), /printed no JSON.*deadline/);
  });
});
