import { strict as assert } from 'node:assert';
import { RecordStore } from '../../../../node-agent/state/record-store';
import { EndpointBody, StateRecord, recordKey } from '../../../../common/fdb-state/record';
import { sameSummary } from '../../../../node-agent/state/owner-summary';
import { MAX_COUNTER, MAX_INCARNATION } from '../../../../common/fdb-state/version';
import { prng } from '../../../helpers/prng';

const ep = (mac: string, over: Partial<EndpointBody> = {}): EndpointBody => ({
  kind: 'endpoint',
  vni: 42,
  mac,
  ips: ['10.42.0.2/24'],
  vtep: '198.18.0.10',
  mobilitySeq: 0,
  origin: 'api',
  ...over,
});

function store(node: string, incarnation = 1, now = () => 1000) {
  return new RecordStore({ node, incarnation, tombstoneTtlMs: 60_000, now });
}

describe('record store', () => {
  it('versions local records by (incarnation, counter) and skips no-op re-issues', () => {
    const s = store('a', 3);
    const r1 = s.issue(ep('02:00:00:00:00:01'));
    const r2 = s.issue(ep('02:00:00:00:00:01'));
    const r3 = s.issue(ep('02:00:00:00:00:01', { ips: ['10.42.0.3/24'] }));
    assert.equal(r1, r2);
    assert.deepEqual(r1.version, { incarnation: 3, counter: 1 });
    assert.deepEqual(r3.version, { incarnation: 3, counter: 2 });
  });

  it('merges a remote record only when it is newer', () => {
    const a = store('a');
    const b = store('b');
    const v1 = a.issue(ep('02:00:00:00:00:01'));
    const v2 = a.issue(ep('02:00:00:00:00:01', { ips: [] }));
    assert.equal(b.merge(v2), 'applied');
    assert.equal(b.merge(v1), 'stale');
    assert.equal(b.merge(v2), 'stale');
    assert.deepEqual(
      b.get('a', recordKey(v2.body))?.body.kind === 'endpoint' &&
        (b.get('a', recordKey(v2.body))!.body as EndpointBody).ips,
      [],
    );
  });

  it('withdraws with a tombstone that wins over the live record everywhere', () => {
    const a = store('a');
    const b = store('b');
    const live = a.issue(ep('02:00:00:00:00:01'));
    const dead = a.withdraw(recordKey(live.body))!;
    assert.ok(dead.tombstone);
    assert.equal(b.merge(dead), 'applied');
    assert.equal(b.merge(live), 'stale', 'a late live copy must not resurrect a deleted endpoint');
    assert.equal([...b.live()].length, 0);
    assert.equal(a.withdraw(recordKey(live.body)), undefined, 'withdrawing twice issues nothing');
  });

  it('refutes a record of ours from a previous life, bumping the incarnation when it must', () => {
    const before = store('a', 5);
    const old = before.issue(ep('02:00:00:00:00:01'));
    // Data dir wiped: the node restarts at incarnation 1 and hears of its old record from a peer.
    const after = store('a', 1);
    const incarnations: number[] = [];
    after.on('incarnation', (i) => incarnations.push(i));
    const issued: StateRecord[] = [];
    after.on('change', (c) => issued.push(c.after));
    assert.equal(after.merge(old), 'refuted');
    assert.deepEqual(incarnations, [6]);
    assert.equal(issued.length, 1);
    assert.ok(issued[0].tombstone, 'an endpoint we no longer have is withdrawn');
    assert.ok(issued[0].version.incarnation > old.version.incarnation);
    const peer = store('b');
    peer.merge(old);
    assert.equal(peer.merge(issued[0]), 'applied');
    assert.equal([...peer.live()].length, 0);
  });

  it('refutes at the top of the incarnations by counter, never past 2^53; the very top is implausible', () => {
    const top = (counter: number, mac = '02:00:00:00:00:01'): StateRecord => ({
      owner: 'a',
      version: { incarnation: MAX_INCARNATION, counter },
      tombstone: false,
      originTimeMs: 0,
      body: ep(mac),
    });
    const a = store('a', 7);
    a.issue(ep('02:00:00:00:00:01'));
    a.markLocalReady();
    assert.equal(a.merge(top(40)), 'refuted');
    assert.equal(a.incarnation, MAX_INCARNATION, 'saturated, not 2^32');
    const mine = a.get('a', recordKey(ep('02:00:00:00:00:01')))!;
    assert.deepEqual(mine.version, { incarnation: MAX_INCARNATION, counter: 41 });
    assert.equal(a.merge(top(30, '02:00:00:00:00:02')), 'refuted');
    assert.ok(a.get('a', recordKey(ep('02:00:00:00:00:02')))!.version.counter > 41, 'the counter never goes back');
    assert.equal(a.merge(top(MAX_COUNTER, '02:00:00:00:00:03')), 'implausible');
    assert.ok(Number.isSafeInteger(a.get('a', recordKey(ep('02:00:00:00:00:02')))!.version.counter));
  });

  it("keeps at most maxRecordsPerOwner of a peer's records: a new key beyond is over-limit, newer versions go in", () => {
    const peer = store('b');
    const records = Array.from({ length: 17 }, (_, i) =>
      peer.issue(ep(`02:00:00:00:02:${i.toString(16).padStart(2, '0')}`)),
    );
    const ours = new RecordStore({ node: 'a', incarnation: 1, tombstoneTtlMs: 60_000, maxRecordsPerOwner: 16 });
    assert.deepEqual(
      records.map((r) => ours.merge(r)),
      [...Array.from({ length: 16 }, () => 'applied'), 'over-limit'],
    );
    assert.ok(ours.full('b'));
    assert.equal(ours.merge(peer.withdraw(recordKey(records[0].body))!), 'applied', 'a tombstone of a held key');
    assert.equal(ours.summaryOf('b')!.count, 16);
  });

  it('reaps tombstones after the TTL, not before', () => {
    let now = 0;
    const s = store('a', 1, () => now);
    const live = s.issue(ep('02:00:00:00:00:01'));
    s.withdraw(recordKey(live.body));
    now = 59_999;
    assert.equal(s.reap(), 0);
    now = 60_000;
    assert.equal(s.reap(), 1);
    assert.equal(s.recordsOf('a').length, 0);
    assert.equal(s.summaryOf('a')!.count, 0);
  });

  it('converges: random operations delivered in random order and duplicated give equal stores', () => {
    const random = prng(7);
    const rand = (n: number) => Math.floor(random() * n);
    const owners = ['a', 'b', 'c'].map((n) => store(n));
    const log: StateRecord[] = [];
    for (let i = 0; i < 500; i++) {
      const o = owners[rand(3)];
      const mac = `02:00:00:00:00:${rand(20).toString(16).padStart(2, '0')}`;
      const rec = rand(4) === 0 ? o.withdraw(`ep/42/${mac}`) : o.issue(ep(mac, { ips: [`10.42.0.${rand(250)}/24`] }));
      if (rec) log.push(rec);
    }
    const replicas = [store('x'), store('y')];
    for (const replica of replicas) {
      const shuffled = [...log, ...log.slice(0, 100)].sort(() => rand(3) - 1);
      for (const r of shuffled) replica.merge(r);
    }
    for (const owner of owners) {
      for (const replica of replicas) {
        assert.ok(
          sameSummary(owner.summaryOf(owner.node), replica.summaryOf(owner.node)),
          `replica disagrees about ${owner.node}`,
        );
        assert.deepEqual(
          replica
            .recordsOf(owner.node)
            .map((r) => [recordKey(r.body), r.version, r.tombstone])
            .sort(),
          owner
            .owned()
            .map((r) => [recordKey(r.body), r.version, r.tombstone])
            .sort(),
        );
      }
    }
  });

  it('detects a missing record through the summaries', () => {
    const a = store('a');
    const b = store('b');
    const recs = ['01', '02', '03'].map((x) => a.issue(ep(`02:00:00:00:00:${x}`)));
    b.merge(recs[0]);
    b.merge(recs[2]);
    assert.ok(!sameSummary(a.summaryOf('a'), b.summaryOf('a')));
    b.merge(recs[1]);
    assert.ok(sameSummary(a.summaryOf('a'), b.summaryOf('a')));
  });

  it("with deferred refutation, holds peers' copies of its old records until it has issued its own", () => {
    const before = store('a', 1);
    const old = before.issue(ep('02:00:00:00:00:01'));
    const gone = before.issue(ep('02:00:00:00:00:02'));
    const restarted = new RecordStore({
      node: 'a',
      incarnation: 2,
      tombstoneTtlMs: 60_000,
      deferRefutation: true,
      now: () => 1000,
    });
    const changes: StateRecord[] = [];
    restarted.on('change', (c) => changes.push(c.after));
    assert.equal(restarted.merge(old), 'deferred');
    assert.equal(restarted.merge(gone), 'deferred');
    assert.equal(changes.length, 0, 'no tombstone goes out before the restarted node knows what it has');
    restarted.issue(ep('02:00:00:00:00:01'));
    assert.equal(restarted.markLocalReady(), 1);
    assert.equal(restarted.get('a', recordKey(old.body))?.tombstone, false);
    assert.equal(restarted.get('a', recordKey(gone.body))?.tombstone, true);
    assert.ok(changes.every((r) => r.version.incarnation === 2));
  });
});
