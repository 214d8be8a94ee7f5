import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import { FLOOD_MAC, StateRecord } from '../../../../common/fdb-state/record';
import type { EndpointRecord } from '../../../../common/fdb-state/winner-rule';
import { RemoteFdbWriter } from '../../../../node-agent/kernel/remote-fdb-writer';
import type { VniPorts } from '../../../../node-agent/kernel/realised-vnis';
import type { DesiredRemote } from '../../../../node-agent/state/remote-view';
import { RTPROT_VXGOSSIP } from '../../../../node-agent/netlink';
import { MemoryKernel } from '../../../helpers/memory-kernel';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const PORTS: VniPorts = { vni: 42, vxlanIndex: 10, bridgeIndex: 11, headEnd: true };

const endpoint = (owner: string, mac: string, vtep: string, ip: string): EndpointRecord =>
  ({
    owner,
    version: { incarnation: 1, counter: 1 },
    tombstone: false,
    originTimeMs: 0,
    body: { kind: 'endpoint', vni: 42, mac, ips: [`${ip}/24`], vtep, mobilitySeq: 0, origin: 'api' },
  }) satisfies StateRecord;

const desired = (endpoints: EndpointRecord[], floods = ['198.18.0.12']): DesiredRemote => ({
  floods: floods.map((vtep) => ({ vni: 42, vtep, owner: 'x' })),
  endpoints,
});

describe('remote FDB writer (in-memory kernel)', () => {
  let kernel: MemoryKernel;
  let writer: RemoteFdbWriter;
  beforeEach(() => {
    kernel = new MemoryKernel();
    writer = new RemoteFdbWriter(kernel.rt, silent);
  });

  it('programs a remote MAC as a vxlan entry, a bridge entry and a neighbour, floods by append', async () => {
    const result = await writer.reconcile(
      [PORTS],
      desired([endpoint('h2', '02:00:00:00:00:02', '198.18.0.12', '10.42.0.2')], ['198.18.0.12', '198.18.0.13']),
      true,
    );
    assert.deepEqual(kernel.writes.sort(), [
      'fdb append 00:00:00:00:00:00>198.18.0.12',
      'fdb append 00:00:00:00:00:00>198.18.0.13',
      'fdb replace 02:00:00:00:00:02>198.18.0.12',
      'fdb replace 02:00:00:00:00:02>bridge',
      'neigh set 10.42.0.2',
    ]);
    assert.deepEqual(result.perVni.get(42), { desired: 5, programmed: 5 });
    assert.equal(result.added, 5);
    const neighbour = [...kernel.neighbourEntries.values()][0];
    assert.deepEqual(
      [neighbour.ifindex, neighbour.mac, neighbour.protocol],
      [PORTS.bridgeIndex, '02:00:00:00:00:02', RTPROT_VXGOSSIP],
    );
    assert.deepEqual(
      result.programmedNow.map((p) => p.mac),
      ['02:00:00:00:00:02'],
    );
  });

  it('writes nothing when the kernel already holds what is desired', async () => {
    const want = desired([endpoint('h2', '02:00:00:00:00:02', '198.18.0.12', '10.42.0.2')]);
    await writer.reconcile([PORTS], want, true);
    kernel.writes.length = 0;
    const again = await writer.reconcile([PORTS], want, true);
    assert.deepEqual(kernel.writes, []);
    assert.deepEqual([again.added, again.removed], [0, 0]);
  });

  it('re-points a moved MAC in place, without a window with no entry', async () => {
    await writer.reconcile([PORTS], desired([endpoint('h2', '02:00:00:00:00:02', '198.18.0.12', '10.42.0.2')]), true);
    kernel.writes.length = 0;
    await writer.reconcile([PORTS], desired([endpoint('h3', '02:00:00:00:00:02', '198.18.0.13', '10.42.0.2')]), true);
    assert.deepEqual(
      kernel.writes,
      ['fdb replace 02:00:00:00:00:02>198.18.0.13'],
      'one replace, no delete of the old dst',
    );
  });

  it('keeps stale entries during the grace period and sweeps only its own afterwards', async () => {
    await writer.reconcile([PORTS], desired([endpoint('h2', '02:00:00:00:00:02', '198.18.0.12', '10.42.0.2')]), true);
    // An operator's neighbour (no vxgossip protocol tag) on the same bridge.
    kernel.neighbourEntries.set('11|10.42.0.99', {
      ifindex: 11,
      ip: '10.42.0.99',
      mac: '02:00:00:00:00:99',
      state: 'permanent',
    });
    kernel.writes.length = 0;
    await writer.reconcile([PORTS], desired([], []), false);
    assert.deepEqual(kernel.writes, [], 'grace: nothing deleted');
    const swept = await writer.reconcile([PORTS], desired([], []), true);
    assert.equal(swept.removed, 4);
    assert.deepEqual([...kernel.neighbourEntries.keys()], ['11|10.42.0.99'], "the operator's neighbour stays");
    assert.equal(kernel.fdbEntries.size, 0);
  });

  it('counts what the kernel refused against the VNI and names the errno', async () => {
    kernel.fdb.addMany = async (entries) =>
      entries.map((e) => (e.mac === FLOOD_MAC ? Object.assign(new Error('EPERM'), { code: 'EPERM' }) : undefined));
    const result = await writer.reconcile([PORTS], desired([]), true);
    assert.deepEqual(result.perVni.get(42), { desired: 1, programmed: 0 });
    assert.deepEqual(result.errorCodes, ['EPERM']);
  });

  it("removes a withdrawn MAC's bridge entry from the bridge (NTF_MASTER): the next pass is idle", async () => {
    await writer.reconcile([PORTS], desired([endpoint('h2', '02:00:00:00:00:02', '198.18.0.12', '10.42.0.2')]), true);
    kernel.writes.length = 0;
    await writer.reconcile([PORTS], desired([]), true);
    assert.deepEqual(kernel.writes.sort(), [
      'fdb del 02:00:00:00:00:02>198.18.0.12',
      'fdb del 02:00:00:00:00:02>bridge',
      'neigh del 10.42.0.2',
    ]);
    assert.deepEqual(
      [...kernel.fdbEntries.values()].map((e) => e.mac),
      [FLOOD_MAC],
    );
    kernel.writes.length = 0;
    const again = await writer.reconcile([PORTS], desired([]), true);
    assert.deepEqual([kernel.writes, again.removed], [[], 0], 'nothing is left to remove');
  });

  it("leaves an operator's neighbour for a remote address in place and reports the conflict", async () => {
    const ep = desired([endpoint('h2', '02:00:00:00:00:02', '198.18.0.12', '10.42.0.2')]);
    const operator = { ifindex: 11, ip: '10.42.0.2', mac: '02:00:00:00:00:99', state: 'permanent' as const };
    kernel.neighbourEntries.set('11|10.42.0.2', operator);
    const held = await writer.reconcile([PORTS], ep, true);
    assert.deepEqual(kernel.neighbourEntries.get('11|10.42.0.2'), operator);
    assert.deepEqual(held.conflicts, [{ vni: 42, kind: 'neigh', address: '10.42.0.2', found: 'nud permanent' }]);
    assert.deepEqual(held.perVni.get(42), { desired: 4, programmed: 3 });
    // One the kernel resolved by ARP is nobody's: ours replaces it.
    kernel.neighbourEntries.set('11|10.42.0.2', { ...operator, state: 'stale' });
    const replaced = await writer.reconcile([PORTS], ep, true);
    assert.equal(kernel.neighbourEntries.get('11|10.42.0.2')?.mac, '02:00:00:00:00:02');
    assert.deepEqual(replaced.conflicts, []);
  });
});
