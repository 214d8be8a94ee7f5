import { strict as assert } from 'node:assert';
import { MoveTracker, nextMobilitySeq, winningClaim, EndpointRecord } from '../../../common/fdb-state/mobility';
import { FdbView } from '../../../common/fdb-state/fdb-view';
import { RecordStore } from '../../../common/fdb-state/record-store';
import type { EndpointBody } from '../../../common/fdb-state/record';

const claim = (owner: string, seq: number): EndpointRecord => ({
  owner, version: { incarnation: 1, counter: 1 }, tombstone: false, originTimeMs: 0,
  body: { kind: 'endpoint', vni: 42, mac: '02:00:00:00:00:01', ips: [], vtep: `vtep-${owner}`, mobilitySeq: seq, origin: 'learned' },
});

describe('MAC mobility', () => {
  it('picks the highest sequence, and the lower owner name on a tie', () => {
    assert.equal(winningClaim([claim('a', 1), claim('b', 2)])!.owner, 'b');
    assert.equal(winningClaim([claim('b', 2), claim('a', 2)])!.owner, 'a');
    assert.equal(winningClaim([]), undefined);
  });

  it('announces one above every other live claim, so a move (and a move back) wins', () => {
    assert.equal(nextMobilitySeq('a', []), 0);
    assert.equal(nextMobilitySeq('b', [claim('a', 0)]), 1);
    assert.equal(nextMobilitySeq('a', [claim('a', 0), claim('b', 1)]), 2);
    assert.equal(nextMobilitySeq('a', [claim('a', 4)]), 4, 'no other claim: keep the current sequence');
  });

  it('freezes a MAC after 5 moves in 180 s, and not when the moves are spread out', () => {
    let now = 0;
    const t = new MoveTracker({ maxMoves: 5, windowMs: 180_000, now: () => now });
    for (let i = 0; i < 4; i++) assert.equal(t.recordMove('42/m'), false);
    assert.equal(t.recordMove('42/m'), true);
    assert.ok(t.isFrozen('42/m'));
    const slow = new MoveTracker({ maxMoves: 5, windowMs: 180_000, now: () => now });
    for (let i = 0; i < 20; i++) {
      now += 60_000;
      assert.equal(slow.recordMove('42/n'), false);
    }
  });
});

describe('FDB view', () => {
  const body = (mac: string, vtep: string, seq = 0, vni = 42): EndpointBody => ({ kind: 'endpoint', vni, mac, ips: ['10.42.0.9/24'], vtep, mobilitySeq: seq, origin: 'api' });
  function cluster() {
    const here = new RecordStore({ node: 'h1', incarnation: 1, tombstoneTtlMs: 1000 });
    const peers = ['h2', 'h3'].map((node) => new RecordStore({ node, incarnation: 1, tombstoneTtlMs: 1000 }));
    const sync = () => peers.forEach((p) => p.owned().forEach((r) => here.merge(r)));
    return { here, peers, sync };
  }

  it('floods to remote members of local VNIs and programs remote endpoints only', () => {
    const { here, peers: [h2, h3], sync } = cluster();
    here.issue({ kind: 'membership', vni: 42, vtep: '198.18.0.11' });
    here.issue(body('02:00:00:00:00:01', '198.18.0.11'));
    h2!.issue({ kind: 'membership', vni: 42, vtep: '198.18.0.12' });
    h2!.issue(body('02:00:00:00:00:02', '198.18.0.12'));
    h3!.issue({ kind: 'membership', vni: 7, vtep: '198.18.0.13' });
    h3!.issue(body('02:00:00:00:00:03', '198.18.0.13', 0, 7));
    sync();
    const view = new FdbView(here, new MoveTracker());
    const d = view.compute({ alive: () => true, localVnis: new Set([42]) });
    assert.deepEqual(d.floods.map((f) => f.vtep), ['198.18.0.12']);
    assert.deepEqual(d.endpoints.map((e) => e.body.mac), ['02:00:00:00:00:02']);
  });

  it('withdraws a dead owner and restores it when it is alive again', () => {
    const { here, peers: [h2], sync } = cluster();
    h2!.issue({ kind: 'membership', vni: 42, vtep: '198.18.0.12' });
    h2!.issue(body('02:00:00:00:00:02', '198.18.0.12'));
    sync();
    const view = new FdbView(here, new MoveTracker());
    let alive = false;
    const ctx = { alive: () => alive, localVnis: new Set([42]) };
    assert.deepEqual(view.compute(ctx), { floods: [], endpoints: [] });
    alive = true;
    assert.equal(view.compute(ctx).endpoints.length, 1);
  });

  it('follows a move to the higher sequence, and freezes a MAC that keeps moving', () => {
    const { here, peers: [h2, h3], sync } = cluster();
    const duplicates: string[] = [];
    const view = new FdbView(here, new MoveTracker({ maxMoves: 3, windowMs: 60_000 }), (key) => duplicates.push(key));
    const ctx = { alive: () => true, localVnis: new Set([42]) };
    const mac = '02:00:00:00:00:aa';
    let seq = 0;
    const moveTo = (s: RecordStore, vtep: string) => {
      s.issue(body(mac, vtep, seq++));
      sync();
      return view.compute(ctx).endpoints.find((e) => e.body.mac === mac)!.owner;
    };
    assert.equal(moveTo(h2!, '198.18.0.12'), 'h2');
    assert.equal(moveTo(h3!, '198.18.0.13'), 'h3');
    assert.equal(moveTo(h2!, '198.18.0.12'), 'h2');
    // The third move inside the window makes it a duplicate: it stays where it was.
    assert.equal(moveTo(h3!, '198.18.0.13'), 'h2');
    assert.deepEqual(duplicates, [`42/${mac}`]);
    assert.ok(view.isFrozen(42, mac));
    assert.equal(moveTo(h3!, '198.18.0.13'), 'h2', 'frozen: later moves are ignored too');
  });
});
