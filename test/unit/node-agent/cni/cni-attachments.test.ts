import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../../../common/log';
import { CNI_CODES, CniError, ipamHandle } from '../../../../common/cni/protocol';
import { queueDelete, readDeleteQueue } from '../../../../common/cni/delete-queue';
import { CniAttachments, InsideInterface } from '../../../../node-agent/cni/cni-attachments';
import { replayDeletes } from '../../../../node-agent/cni/delete-replay';
import type { AttachPoint } from '../../../../node-agent/kernel/vni-devices';
import { FakeAttacher } from '../../../helpers/fake-attacher';
import { FakeHostIpam } from '../../../helpers/fake-host-ipam';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });

const POINTS: Record<number, AttachPoint> = {
  42: { device: 'br42' },
  100: { device: 'vxl3-8472', routed: { vni: 100, subnet: '10.100.0.0/24', gateway: '10.100.0.1' } },
};

type Checks = { ready: boolean; checks: Record<string, string> };

function setup(size = 10, readiness: () => Checks = () => ({ ready: true, checks: { kernel: 'ok', gossip: 'ok' } })) {
  const attacher = new FakeAttacher();
  const ipam = new FakeHostIpam(
    (vni) => POINTS[vni]?.routed?.subnet ?? (vni === 42 ? '10.42.0.0/24' : undefined),
    size,
  );
  let inside: InsideInterface | undefined;
  let settled = 0;
  const cni = new CniAttachments({
    attacher,
    ipam,
    attachPoint: (vni) => POINTS[vni],
    hostLink: async (name) =>
      attacher.endpoints.some((e) => e.hostInterface === name) ? { mac: '02:aa:00:00:00:01', mtu: 1450 } : undefined,
    inside: async () => inside,
    settle: async () => void settled++,
    readiness,
    log: silent,
  });
  return {
    attacher,
    ipam,
    cni,
    setInside: (i: InsideInterface | undefined) => (inside = i),
    settled: () => settled,
  };
}

const add = (containerId: string, vni = 42) => ({
  vni,
  containerId,
  ifname: 'eth0',
  netns: `/run/netns/${containerId}`,
});

async function rejectsWith(promise: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CniError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('CNI attachments on the agent (issue #16)', () => {
  it('ADD takes the address from HostIpam under cni/<container>/<ifname>, attaches, waits for the announcement', async () => {
    const { cni, ipam, attacher, settled } = setup();
    const a = await cni.add(add('c1'));
    assert.deepEqual(ipam.allocated(42), [
      { vni: 42, handle: 'cni/c1/eth0', ip: '10.42.0.2/24', gateway: '10.42.0.1' },
    ]);
    assert.equal(attacher.endpoints[0].containerId, 'c1');
    assert.equal(attacher.endpoints[0].netns, '/run/netns/c1');
    assert.equal(a.ip, '10.42.0.2/24');
    assert.equal(a.gateway, undefined, 'an L2 VNI has no gateway');
    assert.equal(a.mtu, 1450);
    assert.equal(settled(), 1);
  });

  it('ADD to a routed VNI reports its gateway; ADD again returns the same attachment', async () => {
    const { cni, ipam } = setup();
    const first = await cni.add(add('c1', 100));
    assert.equal(first.gateway, '10.100.0.1');
    assert.deepEqual(await cni.add(add('c1', 100)), first);
    assert.equal(ipam.allocated(100).length, 1);
  });

  it('refuses an unknown VNI, a second VNI for the same interface and exhausted addresses with CNI codes', async () => {
    const { cni } = setup(1);
    await rejectsWith(cni.add(add('c1', 77)), CNI_CODES.invalidConfig, /VNI 77 is not configured.*ctl vni create 77/);
    await cni.add(add('c1'));
    await rejectsWith(cni.add(add('c1', 100)), CNI_CODES.agentFailed, /already has eth0 attached to VNI 42/);
    await rejectsWith(cni.add(add('c2')), CNI_CODES.addressesExhausted, /no free address in VNI 42/);
  });

  it('gives the address back when the attach fails; a VNI not realised yet is "try again later"', async () => {
    const { cni, ipam, attacher } = setup();
    attacher.failNext = Object.assign(new Error('VNI 42 is not realised on h1'), { kind: 'failed-precondition' });
    await rejectsWith(cni.add(add('c1')), CNI_CODES.tryAgainLater, /not realised/);
    assert.deepEqual(ipam.allocated(), []);
  });

  it('DEL removes the veth and releases the address, and succeeds when nothing is there', async () => {
    const { cni, ipam, attacher } = setup();
    await cni.add(add('c1'));
    await cni.del({ vni: 42, containerId: 'c1', ifname: 'eth0' });
    assert.deepEqual(attacher.endpoints, []);
    assert.deepEqual(ipam.released, ['cni/c1/eth0']);
    await cni.del({ vni: 42, containerId: 'c1', ifname: 'eth0' });
    await cni.del({ vni: 42, containerId: 'never', ifname: 'eth0' });
  });

  it('CHECK passes for what ADD made and names what differs', async () => {
    const { cni, setInside, attacher } = setup();
    const a = await cni.add(add('c1'));
    const request = { ...add('c1'), ip: a.ip, mac: a.mac };
    setInside({ mac: a.mac, up: true, addresses: [a.ip] });
    await cni.check(request);
    await rejectsWith(cni.check({ ...request, ip: '10.42.0.9/24' }), CNI_CODES.checkFailed, /result says/);
    setInside({ mac: a.mac, up: true, addresses: [] });
    await rejectsWith(cni.check(request), CNI_CODES.checkFailed, /lacks its address 10.42.0.2\/24/);
    setInside(undefined);
    await rejectsWith(cni.check(request), CNI_CODES.checkFailed, /no interface eth0/);
    attacher.endpoints.length = 0;
    await rejectsWith(cni.check(request), CNI_CODES.unknownContainer, /no attachment of c1\/eth0/);
  });

  it("GC releases the VNI's CNI attachments the runtime does not list, and nothing else", async () => {
    const { cni, ipam, attacher } = setup();
    await cni.add(add('keep'));
    await cni.add(add('stale'));
    await cni.add(add('other-vni', 100));
    await ipam.allocate({ vni: 42, handle: 'dockerendpoint0' });
    // An address whose veth is already gone (the namespace went with the container).
    await ipam.allocate({ vni: 42, handle: ipamHandle('gone', 'eth0') });
    const answer = await cni.gc({ vni: 42, valid: [{ containerId: 'keep', ifname: 'eth0' }] });
    assert.equal(answer.released, 2);
    assert.deepEqual(
      ipam.allocated().map((a) => a.handle),
      ['cni/keep/eth0', 'cni/other-vni/eth0', 'dockerendpoint0'],
    );
    assert.deepEqual(
      attacher.endpoints.map((e) => e.containerId),
      ['keep', 'other-vni'],
    );
  });

  it('replays queued deletions at start and removes them from the queue; a bad entry is moved aside', async () => {
    const { cni, ipam } = setup();
    await cni.add(add('c1'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-cni-queue-'));
    try {
      queueDelete(dir, { vni: 42, containerId: 'c1', ifname: 'eth0' });
      queueDelete(dir, { vni: 42, containerId: 'c1', ifname: 'eth0' });
      fs.writeFileSync(path.join(dir, 'junk.json'), '{"vni": "x"}');
      assert.equal(await replayDeletes(dir, cni, silent), 1);
      assert.deepEqual(ipam.released, ['cni/c1/eth0']);
      assert.deepEqual(readDeleteQueue(dir), []);
      assert.ok(fs.existsSync(path.join(dir, 'junk.json.bad')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('STATUS is ready while a VNI cannot be realised (the others serve containers), not while gossip synchronises', () => {
    let checks: Record<string, string> = { kernel: 'ok', gossip: 'ok', vnis: 'VNI 43 not realised: File exists' };
    const { cni } = setup(10, () => ({ ready: false, checks }));
    assert.deepEqual(cni.status(), { ready: true, reasons: [] });
    checks = { ...checks, gossip: 'synchronising with a peer' };
    assert.deepEqual(cni.status(), { ready: false, reasons: ['gossip: synchronising with a peer'] });
  });
});
