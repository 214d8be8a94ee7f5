import { strict as assert } from 'node:assert';
import type { EndpointBody } from '../../../../common/fdb-state/record';
import { RecordChange, RecordStore } from '../../../../node-agent/state/record-store';
import { affectsRemoteView } from '../../../../node-agent/state/remote-view';

const body = (vtep: string, over: Partial<EndpointBody> = {}): EndpointBody => ({
  kind: 'endpoint',
  vni: 42,
  mac: '02:00:00:00:00:02',
  ips: ['10.42.0.2/24'],
  vtep,
  mobilitySeq: 0,
  origin: 'api',
  ...over,
});

// The changes our store emits while it takes h2's records, issued by h2's own store.
function peer(incarnation: number) {
  return new RecordStore({ node: 'h2', incarnation, tombstoneTtlMs: 60_000 });
}

describe('remote view: which record changes call for a pass', () => {
  let ours: RecordStore;
  let changes: RecordChange[];
  beforeEach(() => {
    ours = new RecordStore({ node: 'h1', incarnation: 1, tombstoneTtlMs: 60_000 });
    changes = [];
    ours.on('change', (c) => changes.push(c));
  });
  const affects = () => changes.splice(0).map((c) => affectsRemoteView(c, ours));

  it("a peer's new record, a changed one and a withdrawal do; the same record re-issued after a restart does not", () => {
    const before = peer(1);
    ours.merge(before.issue(body('198.18.0.12')));
    assert.deepEqual(affects(), [true]);
    const restarted = peer(2);
    ours.merge(restarted.issue(body('198.18.0.12')));
    assert.deepEqual(affects(), [false], 'new incarnation, same content');
    ours.merge(restarted.issue(body('198.18.0.12', { ips: ['10.42.0.9/24'] })));
    ours.merge(restarted.issue(body('198.18.0.12', { ips: ['10.42.0.9/24'], mobilitySeq: 1 })));
    ours.merge(restarted.issue(body('198.18.0.12', { ips: ['10.42.0.9/24'], mobilitySeq: 1, frozen: true })));
    ours.merge(restarted.withdraw('ep/42/02:00:00:00:00:02')!);
    assert.deepEqual(affects(), [true, true, true, true]);
  });

  it('a change of our own does only when another host claims the same MAC', () => {
    ours.issue(body('198.18.0.11'));
    assert.deepEqual(affects(), [false]);
    ours.merge(peer(1).issue(body('198.18.0.12')));
    ours.issue(body('198.18.0.11', { mobilitySeq: 1 }));
    assert.deepEqual(affects(), [true, true]);
  });
});
