import { strict as assert } from 'node:assert';
import { type ReadinessInputs, readiness } from '../../../node-agent/readiness';

const healthy: ReadinessInputs = {
  kernelSynced: true,
  sweepAllowed: true,
  join: ['198.18.0.2:7946'],
  anyPeerAlive: true,
  serverConnected: true,
  server: '198.18.0.1:50051',
  statuses: [{ vni: 42, devicesReady: true }],
};

describe('agent readiness (/readyz)', () => {
  it('is ready when the kernel is reconciled, gossip synchronised and every VNI realised', () => {
    assert.deepEqual(readiness(healthy), {
      ready: true,
      checks: { kernel: 'ok', gossip: 'ok', server: 'ok', vnis: 'ok' },
    });
  });

  it('is not ready while a VNI cannot be realised, and names it with the reason', () => {
    const r = readiness({
      ...healthy,
      statuses: [
        { vni: 42, devicesReady: true },
        { vni: 43, devicesReady: false, error: 'device vxlan43: File exists' },
      ],
    });
    assert.equal(r.ready, false);
    assert.equal(r.checks.vnis, 'VNI 43 not realised: device vxlan43: File exists');
  });

  it('stays ready without the server (informational)', () => {
    const r = readiness({ ...healthy, serverConnected: false });
    assert.equal(r.ready, true);
    assert.match(r.checks.server, /not connected to 198\.18\.0\.1:50051/);
  });

  it('is not ready before the first reconcile pass or while no peer answers', () => {
    assert.equal(readiness({ ...healthy, kernelSynced: false }).ready, false);
    const r = readiness({ ...healthy, anyPeerAlive: false });
    assert.equal(r.ready, false);
    assert.match(r.checks.gossip, /no peer answering \(--join 198\.18\.0\.2:7946\)/);
  });
});
