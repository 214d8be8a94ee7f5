import { strict as assert } from 'node:assert';
import { endpointRecordKey } from '../../../../common/fdb-state/record';
import { EndpointRecord, decideMac } from '../../../../common/fdb-state/winner-rule';
import { DuplicateDetector } from '../../../../node-agent/state/duplicate-detector';
import { syncLocalRecords } from '../../../../node-agent/state/local-records';
import { RecordStore } from '../../../../node-agent/state/record-store';
import { desiredRemote } from '../../../../node-agent/state/remote-view';

const MAC = '02:00:00:00:00:aa';
const VTEP: Record<string, string> = { h1: '198.18.0.11', h2: '198.18.0.12', h3: '198.18.0.13' };

// Three hosts whose stores exchange everything after every step: h1 and h2 both host MAC, h3 watches.
function fabric(freezeMs = 60_000) {
  let now = 0;
  const clock = { advance: (ms: number) => (now += ms) };
  const hosts = ['h1', 'h2', 'h3'].map((node) => ({
    node,
    store: new RecordStore({ node, incarnation: 1, tombstoneTtlMs: 1000, now: () => now }),
    duplicates: new DuplicateDetector({ maxMoves: 3, windowMs: 600_000, freezeMs, now: () => now }),
  }));
  const exchange = () => {
    for (const from of hosts)
      for (const to of hosts) if (from !== to) for (const r of from.store.owned()) to.store.merge(r);
  };
  const froze: string[] = [];
  // One reconcile pass on every host that hosts MAC, then gossip; returns how many records changed.
  const pass = (local: string[]) => {
    let issued = 0;
    for (const h of hosts) {
      h.duplicates.expire();
      const endpoints = local.includes(h.node) ? [{ vni: 42, mac: MAC, ips: [], origin: 'api' as const }] : [];
      const changes = syncLocalRecords(h.store, {
        vtep: VTEP[h.node],
        vnis: [42],
        endpoints,
        alive: () => true,
        duplicates: h.duplicates,
      });
      issued += changes.issued + changes.withdrawn;
      froze.push(...changes.froze.map(() => h.node));
      exchange();
    }
    return issued;
  };
  const settle = (local: string[]) => {
    for (let round = 0; round < 50; round++) if (pass(local) === 0) return round;
    assert.fail('the claims never stood still');
  };
  const decision = (h: (typeof hosts)[number]) =>
    decideMac(h.store.liveFor(endpointRecordKey(42, MAC)) as EndpointRecord[], () => true)!;
  const programmedOn = (h: (typeof hosts)[number]) =>
    desiredRemote(h.store, { alive: () => true, localVnis: new Set([42]) }).endpoints.find((e) => e.body.mac === MAC)
      ?.owner;
  return { hosts, clock, settle, froze, decision, programmedOn };
}

describe('local records: mobility and duplicates across hosts', () => {
  it('a MAC hosted on two hosts bounces until one claimant freezes it; then every host agrees and says frozen', () => {
    const f = fabric();
    f.settle(['h1', 'h2']);
    assert.equal(f.froze.length, 1, `exactly one freeze, got ${f.froze.join(',')}`);
    const frozenBy = f.froze[0];
    const decisions = f.hosts.map((h) => f.decision(h));
    const winner = decisions[0].winner.owner;
    assert.notEqual(winner, frozenBy, 'the host that froze stopped contesting');
    for (const d of decisions) {
      assert.equal(d.winner.owner, winner, 'every host decides the same winner');
      assert.equal(d.frozen, true, 'every host sees the freeze');
    }
    const loser = f.hosts.find((h) => h.node === frozenBy)!;
    assert.equal(f.programmedOn(loser), winner, "the loser's kernel points at the winner");
    assert.equal(f.programmedOn(f.hosts[2]), winner);
  });

  it('thaws after the freeze time: the thawed host claims last and wins everywhere', () => {
    const f = fabric(60_000);
    f.settle(['h1', 'h2']);
    const frozenBy = f.froze[0];
    f.clock.advance(60_000);
    f.settle(['h1', 'h2']);
    for (const h of f.hosts) assert.equal(f.decision(h).winner.owner, frozenBy, 'the last claim wins');
    assert.equal(f.froze.length, 2, 'the other claimant, still within its window, freezes in turn');
    assert.notEqual(f.froze[1], frozenBy);
  });

  it('an operator clear on the frozen host makes it contest at once; with the duplicate gone it stays', () => {
    const f = fabric(600_000);
    f.settle(['h1', 'h2']);
    const frozenBy = f.froze[0];
    const host = f.hosts.find((h) => h.node === frozenBy)!;
    const winner = f.decision(host).winner.owner;
    // The duplicate is resolved: the winner's copy goes away; the frozen claim is alone but frozen.
    f.settle([frozenBy]);
    assert.equal(f.decision(f.hosts[2]).winner.owner, frozenBy);
    assert.equal(f.decision(f.hosts[2]).frozen, true, 'still frozen until thawed or cleared');
    assert.ok(host.duplicates.clear(42, MAC));
    f.settle([frozenBy]);
    for (const h of f.hosts) {
      assert.equal(f.decision(h).winner.owner, frozenBy);
      assert.equal(f.decision(h).frozen, false);
    }
    assert.notEqual(winner, frozenBy);
  });

  it('keeps a claim’s sequence while it stands, and claims one above the others on a move', () => {
    const f = fabric();
    f.settle(['h2']);
    assert.equal(f.decision(f.hosts[2]).winner.body.mobilitySeq, 0);
    // h1 passes first: it finds the MAC while h2's claim still stands.
    f.settle(['h1']);
    const d = f.decision(f.hosts[2]);
    assert.equal(d.winner.owner, 'h1');
    assert.equal(d.winner.body.mobilitySeq, 1);
    assert.equal(f.froze.length, 0, 'one move is mobility, not a duplicate');
  });

  it('announces no more local endpoints than an owner may hold, and the rest once withdrawals make room', () => {
    const store = new RecordStore({ node: 'h1', incarnation: 1, tombstoneTtlMs: 0, maxRecordsPerOwner: 16 });
    const local = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        vni: 42,
        mac: `02:00:00:00:03:${(from + i).toString(16).padStart(2, '0')}`,
        ips: [],
        origin: 'learned' as const,
      }));
    const sync = (endpoints: ReturnType<typeof local>) =>
      syncLocalRecords(store, {
        vtep: VTEP.h1,
        vnis: [42],
        endpoints,
        alive: () => true,
        duplicates: new DuplicateDetector({ maxMoves: 3, windowMs: 600_000, freezeMs: 60_000 }),
      });
    const first = sync(local(0, 20));
    assert.deepEqual([first.issued, first.overLimit], [16, 5], 'a membership and 15 endpoints; 5 left out');
    assert.equal(store.owned().length, 16);
    const second = sync(local(10, 10));
    assert.equal(second.withdrawn, 10, 'the endpoints gone are withdrawn');
    store.reap();
    const third = sync(local(10, 10));
    assert.deepEqual([third.issued, third.overLimit], [5, 0], 'the room the tombstones left is used');
  });
});
