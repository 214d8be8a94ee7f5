import { strict as assert } from 'node:assert';
import { EndpointRecord, decideMac } from '../../../common/fdb-state/winner-rule';

export const claim = (owner: string, seq: number, frozen = false): EndpointRecord => ({
  owner,
  version: { incarnation: 1, counter: 1 },
  tombstone: false,
  originTimeMs: 0,
  body: {
    kind: 'endpoint',
    vni: 42,
    mac: '02:00:00:00:00:01',
    ips: [],
    vtep: `vtep-${owner}`,
    mobilitySeq: seq,
    origin: 'learned',
    ...(frozen ? { frozen: true as const } : {}),
  },
});

const all = () => true;

describe('the winner rule', () => {
  it('picks the highest sequence, and the lower owner name on a tie, whatever the order', () => {
    assert.equal(decideMac([claim('a', 1), claim('b', 2)], all)!.winner.owner, 'b');
    assert.equal(decideMac([claim('b', 2), claim('a', 2)], all)!.winner.owner, 'a');
    assert.equal(decideMac([claim('a', 2), claim('b', 2)], all)!.winner.owner, 'a');
    assert.equal(decideMac([], all), undefined);
  });

  it('counts only live claims: a dead owner neither wins nor freezes', () => {
    const live = (o: string) => o !== 'b';
    const d = decideMac([claim('a', 1), claim('b', 9, true)], live)!;
    assert.equal(d.winner.owner, 'a');
    assert.equal(d.frozen, false);
    assert.deepEqual(
      d.claims.map((c) => c.owner),
      ['a'],
    );
    assert.equal(decideMac([claim('b', 9)], live), undefined);
  });

  it('says frozen when any live claimant froze the MAC, and the sequence still decides', () => {
    const d = decideMac([claim('a', 3, true), claim('b', 4)], all)!;
    assert.equal(d.frozen, true);
    assert.equal(d.winner.owner, 'b', 'a frozen claimant stops contesting; it does not pin the winner');
    assert.equal(decideMac([claim('a', 3), claim('b', 4)], all)!.frozen, false);
  });

  it('ignores tombstones', () => {
    const gone = { ...claim('b', 9), tombstone: true };
    assert.equal(decideMac([claim('a', 1), gone], all)!.winner.owner, 'a');
  });
});
