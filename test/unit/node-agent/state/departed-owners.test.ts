import { strict as assert } from 'node:assert';
import { DepartedOwners } from '../../../../node-agent/state/departed-owners';

describe('departed owners', () => {
  it('expires an owner gone for the whole TTL, counted from when it was first seen gone; a return resets it', () => {
    let now = 0;
    const departed = new DepartedOwners(1000, () => now);
    const alive = new Set(['h2', 'h3']);
    const present = (o: string) => alive.has(o);
    assert.deepEqual(departed.expired(['h2', 'h3', 'h4'], present), [], 'h4 (never seen alive) starts its clock');
    alive.delete('h2');
    now = 600;
    assert.deepEqual(departed.expired(['h2', 'h3', 'h4'], present), []);
    now = 1000;
    assert.deepEqual(departed.expired(['h2', 'h3', 'h4'], present), ['h4']);
    alive.add('h2');
    now = 1500;
    assert.deepEqual(departed.expired(['h2', 'h3'], present), [], 'h2 came back in time');
    alive.delete('h2');
    now = 2000;
    assert.deepEqual(departed.expired(['h2', 'h3'], present), []);
    now = 3000;
    assert.deepEqual(departed.expired(['h2', 'h3'], present), ['h2'], 'gone again for a whole TTL');
  });
});
