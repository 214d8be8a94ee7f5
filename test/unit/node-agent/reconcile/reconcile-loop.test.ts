import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import type { ProgrammingStatus } from '../../../../generated/vxgossip/v1/ProgrammingStatus';
import type { RealisedVnis } from '../../../../node-agent/kernel/realised-vnis';
import { ReconcileLoop } from '../../../../node-agent/reconcile/reconcile-loop';
import type { PassContext, ReconcileSteps } from '../../../../node-agent/reconcile/steps';
import type { DesiredRemote } from '../../../../node-agent/state/remote-view';
import { eventually } from '../../../../lab/eventually';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const REALISED: RealisedVnis = {
  l2: [{ vni: 42, vxlanIndex: 10, bridgeIndex: 11, headEnd: true }],
  l3: [
    { vni: 77, deviceIndex: 20, device: 'vxl3-8472', subnet: '10.77.0.0/24', datapath: 'lwt' },
    { vni: 88, deviceIndex: 21, device: 'vxl3-4790', subnet: '10.88.0.0/24', datapath: 'bpf' },
  ],
};

// Steps that record what ran, in order, with what the loop gave them.
function harness(graceMaxMs = 60_000, maxRestMs = 0, bpfCheckIntervalMs = 0) {
  const calls: string[] = [];
  const passes: PassContext[] = [];
  const reports: ProgrammingStatus[][] = [];
  const revisions: number[] = [];
  let configRevision = 5;
  let desired: DesiredRemote = { floods: [{ vni: 42, vtep: '198.18.0.12', owner: 'h2' }], endpoints: [] };
  let failDevices = false;
  let bpfError: string | undefined = 'the BPF datapath cannot be opened: EPERM';
  let gate: Promise<void> | undefined;
  let programmingGate: Promise<void> | undefined;
  const steps: ReconcileSteps = {
    devices: {
      realise: async () => {
        calls.push('devices');
        await gate;
        if (failDevices) throw new Error('netlink socket closed');
        return {
          realised: REALISED,
          statuses: [
            { vni: 42, devicesReady: true },
            { vni: 77, devicesReady: true },
            { vni: 88, devicesReady: true },
          ],
        };
      },
    },
    remoteL2: {
      program: async (pass) => {
        calls.push('remoteL2');
        passes.push(pass);
        await programmingGate;
        await pass.once('attached', async () => calls.push('read attached'));
        return { perVni: new Map([[42, { desired: 3, programmed: 3 }]]), removed: 0, conflicts: [] };
      },
    },
    l3Routes: {
      program: async (pass) => {
        calls.push('l3Routes');
        await pass.once('attached', async () => calls.push('read attached'));
        return { perVni: new Map([[77, { desired: 2, programmed: 1 }]]), removed: 1, conflicts: [] };
      },
    },
    bpf: {
      program: async () => {
        calls.push('bpf');
        const errors = new Map(bpfError ? [[88, bpfError]] : []);
        return { perVni: new Map([[88, { desired: 4, programmed: 4 }]]), removed: 0, conflicts: [], errors };
      },
      check: () => void calls.push('bpf check'),
      close: () => void calls.push('bpf close'),
    },
    localRecords: { sync: async () => void calls.push('localRecords') },
  };
  const loop = new ReconcileLoop({
    steps,
    desired: () => desired,
    configRevision: () => configRevision,
    onPass: (s, revision) => {
      reports.push(s);
      revisions.push(revision);
    },
    log: silent,
    graceMaxMs,
    maxRestMs,
    bpfCheckIntervalMs,
  });
  return {
    loop,
    calls,
    passes,
    reports,
    revisions,
    setConfigRevision: (r: number) => (configRevision = r),
    setDesired: (d: DesiredRemote) => (desired = d),
    failDevices: (f: boolean) => (failDevices = f),
    setBpfError: (e: string | undefined) => (bpfError = e),
    holdDevices: (p: Promise<void> | undefined) => {
      gate = p;
    },
    holdProgramming: (p: Promise<void> | undefined) => {
      programmingGate = p;
    },
  };
}

describe('reconcile loop', () => {
  let h: ReturnType<typeof harness>;
  afterEach(() => h.loop.stop());

  it('runs a full pass first, in order: devices, remote L2, L3 routes, BPF, local records; reads shared kernel state once', async () => {
    h = harness();
    h.loop.start();
    await h.loop.settle();
    assert.deepEqual(h.calls.slice(0, 6), ['devices', 'remoteL2', 'read attached', 'l3Routes', 'bpf', 'localRecords']);
    assert.deepEqual([...h.passes[0].localVnis].sort(), [42, 77, 88]);
    assert.ok(h.loop.kernelSynced);
    const last = h.reports[h.reports.length - 1];
    assert.deepEqual(
      last.map((s) => [s.vni, s.desired, s.programmed]),
      [
        [42, 3, 3],
        [77, 2, 1],
        [88, 4, 4],
      ],
      'counts of every programming step reach the status',
    );
  });

  it('reports the configuration revision the devices were realised at, not one that arrived during the pass', async () => {
    h = harness();
    let release!: () => void;
    h.holdDevices(new Promise<void>((r) => (release = r)));
    h.loop.start();
    await eventually(() => assert.deepEqual(h.calls, ['devices']));
    // A new configuration arrives while the pass realises the old one's devices.
    h.setConfigRevision(6);
    release();
    await h.loop.settle();
    assert.deepEqual(
      new Set(h.revisions),
      new Set([5]),
      'a pass after it, without devices, still speaks for revision 5',
    );
    assert.equal(h.loop.realisedConfigRevision, 5, 'and so does the hello of a reconnecting agent');
    h.loop.schedule('full');
    await h.loop.settle();
    assert.equal(h.revisions.at(-1), 6);
  });

  it("reports a step's error for a VNI whose devices are ready until a pass no longer has it", async () => {
    h = harness();
    h.loop.start();
    await h.loop.settle();
    const errorOf = () => h.loop.status().find((s) => s.vni === 88)?.error;
    assert.equal(errorOf(), 'the BPF datapath cannot be opened: EPERM');
    assert.equal(h.loop.status().find((s) => s.vni === 88)?.devicesReady, true);
    h.setBpfError(undefined);
    h.loop.schedule('fdb');
    await h.loop.settle();
    assert.equal(errorOf(), undefined);
  });

  it('checks the BPF datapath between passes at its interval, and lets it go at stop', async () => {
    h = harness(60_000, 0, 20);
    let release!: () => void;
    h.holdDevices(new Promise<void>((r) => (release = r)));
    h.loop.start();
    await new Promise((r) => setTimeout(r, 70));
    assert.deepEqual(h.calls, ['devices'], 'no check while a pass runs');
    h.holdDevices(undefined);
    release();
    await eventually(() => assert.ok(h.calls.filter((c) => c === 'bpf check').length >= 2), 2000, 5);
    assert.ok(h.calls.indexOf('bpf check') > h.calls.indexOf('localRecords'), 'after the pass');
    await h.loop.stop();
    const checks = h.calls.filter((c) => c === 'bpf check').length;
    assert.equal(h.calls[h.calls.length - 1], 'bpf close');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(h.calls.filter((c) => c === 'bpf check').length, checks, 'no check after stop');
  });

  it('sweeps nothing during the grace period; ending it runs a pass that may sweep', async () => {
    h = harness();
    h.loop.start();
    await h.loop.settle();
    assert.ok(h.passes.every((p) => !p.sweep));
    assert.ok(!h.loop.sweepAllowed);
    h.loop.endGrace('synchronised with a peer');
    await h.loop.settle();
    assert.ok(h.loop.sweepAllowed);
    assert.equal(h.passes[h.passes.length - 1].sweep, true);
  });

  it('programs what gossip brought at once when the grace period ends, without the rest between passes', async () => {
    // A pass rests as long as it took (bounded by maxRestMs), so that a burst of changes batches up.
    const slowPassMs = 600;
    const passStarts = () => h.calls.filter((c) => c === 'remoteL2').length;
    const startOf = (pass: number) => eventually(() => assert.ok(passStarts() >= pass), 5000, 5);

    // Ended during a pass that computed its desired state before the last records arrived: the next
    // pass follows without resting.
    h = harness(60_000, 10_000);
    let release!: () => void;
    h.holdProgramming(new Promise<void>((r) => (release = r)));
    h.loop.start();
    await startOf(1);
    await new Promise((r) => setTimeout(r, slowPassMs));
    h.setDesired({ floods: [], endpoints: [] });
    h.loop.schedule('fdb', true);
    h.loop.endGrace('synchronised with a peer');
    h.holdProgramming(undefined);
    release();
    const ended = Date.now();
    await startOf(2);
    assert.ok(Date.now() - ended < slowPassMs / 2, `the sweeping pass began ${Date.now() - ended} ms after the first`);
    assert.equal(h.passes[1].sweep, true);
    await h.loop.stop();

    // Ended while resting: the rest ends.
    h = harness(60_000, 10_000);
    h.holdDevices(new Promise<void>((r) => setTimeout(r, slowPassMs)));
    h.loop.start();
    await startOf(1);
    h.holdDevices(undefined);
    h.loop.schedule('fdb');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(passStarts(), 1, 'resting after the slow pass');
    const endedAt = Date.now();
    h.loop.endGrace('synchronised with a peer');
    await startOf(2);
    assert.ok(Date.now() - endedAt < slowPassMs / 2, `the rest went on ${Date.now() - endedAt} ms`);
  });

  it('ends the grace period on its own after graceMaxMs', async () => {
    h = harness(30);
    h.loop.start();
    await new Promise((r) => setTimeout(r, 80));
    await h.loop.settle();
    assert.ok(h.loop.sweepAllowed);
  });

  it('skips a gossip-only trigger whose desired state did not change; never a kernel trigger', async () => {
    h = harness();
    h.loop.start();
    await h.loop.settle();
    const quiet = h.calls.length;
    h.loop.schedule('fdb', true);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.calls.length, quiet, 'same desired, kernel untouched: nothing read or written');
    h.setDesired({ floods: [], endpoints: [] });
    h.loop.schedule('fdb', true);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      h.calls.slice(quiet),
      ['remoteL2', 'read attached', 'l3Routes', 'bpf', 'localRecords'],
      'new desired state: an FDB pass, no devices',
    );
    const changed = h.calls.length;
    h.loop.schedule('fdb');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.calls.length, changed + 5, 'the kernel may have moved: the steps run whatever the desired state');
  });

  it('collapses triggers that arrive during a pass into one more pass', async () => {
    h = harness();
    let release = () => undefined as void;
    h.holdDevices(new Promise<void>((r) => (release = r)));
    h.loop.start();
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(h.calls, ['devices'], 'the first pass is under way');
    for (let i = 0; i < 10; i++) h.loop.schedule('full');
    h.holdDevices(undefined);
    release();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.calls.filter((c) => c === 'devices').length, 2, 'the first pass, and one for all ten triggers');
  });

  it('survives a failing step and runs again at the next trigger', async () => {
    h = harness();
    h.failDevices(true);
    h.loop.start();
    await h.loop.settle();
    assert.ok(!h.loop.kernelSynced);
    h.failDevices(false);
    h.loop.schedule('full');
    await h.loop.settle();
    assert.ok(h.loop.kernelSynced);
  });
});
