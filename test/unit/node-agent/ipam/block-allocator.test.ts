import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { blockCidr, subnetBlocks } from '../../../../common/ipam-blocks';
import { createLogger } from '../../../../common/log';
import { AgentError, AgentErrorKind } from '../../../../node-agent/agent-errors';
import { AllocationStore } from '../../../../node-agent/ipam/allocation-store';
import { BlockAllocator } from '../../../../node-agent/ipam/block-allocator';
import type { BlockClaims } from '../../../../node-agent/ipam/block-client';
import { makeTempDir, removeTempDir } from '../../../../lab/temp-dir';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });
const SUBNETS: Record<number, string> = { 42: '10.42.0.0/24', 43: '10.43.0.0/30', 6: '2001:db8::/64', 7: '' };

// The server's side, in memory: blocks handed out lowest first, refused when the subnet is used up.
class FakeServer implements BlockClaims {
  down = false;
  readonly held = new Map<string, number>();
  readonly released: string[] = [];

  async claim(vni: number, known: string[]): Promise<{ cidr: string; subnet: string }> {
    this.reachable();
    const s = subnetBlocks(SUBNETS[vni]);
    for (let i = 0n; i < s.count; i++) {
      const cidr = blockCidr(s, i);
      if (this.held.has(`${vni} ${cidr}`) || known.includes(cidr)) continue;
      this.held.set(`${vni} ${cidr}`, vni);
      return { cidr, subnet: s.subnet };
    }
    throw new AgentError('resource-exhausted', `the subnet ${s.subnet} of VNI ${vni} is exhausted`);
  }

  async release(vni: number, cidr: string): Promise<void> {
    this.reachable();
    this.held.delete(`${vni} ${cidr}`);
    this.released.push(cidr);
  }

  private reachable(): void {
    if (this.down) throw new AgentError('unavailable', 'cannot reach the server at 198.18.0.1:50051');
  }
}

const kindOf = (kind: AgentErrorKind) => (err: unknown) => err instanceof AgentError && err.kind === kind;

describe('IPAM allocator (per-host blocks)', () => {
  let dir: string;
  let server: FakeServer;
  let ipam: BlockAllocator;
  const open = () =>
    new BlockAllocator({
      store: AllocationStore.open(path.join(dir, 'ipam.json')),
      claims: server,
      subnetOf: (vni) => SUBNETS[vni],
      log: silent,
    });
  beforeEach(() => {
    dir = makeTempDir('ipam');
    server = new FakeServer();
    ipam = open();
  });
  afterEach(() => removeTempDir(dir));

  it('claims a block for the first address and gives the same handle the same address', async () => {
    const a = await ipam.allocate({ vni: 42, handle: 'ns1/eth0' });
    assert.deepEqual(a, { vni: 42, handle: 'ns1/eth0', ip: '10.42.0.2/24', gateway: '10.42.0.1' });
    assert.deepEqual(await ipam.allocate({ vni: 42, handle: 'ns1/eth0' }), a);
    assert.equal((await ipam.allocate({ vni: 42, handle: 'ns2/eth0' })).ip, '10.42.0.3/24');
    assert.deepEqual([...server.held.keys()], ['42 10.42.0.0/26'], 'one block serves both');
  });

  it('hands out distinct addresses to concurrent requests, claiming another block when one is full', async () => {
    const all = await Promise.all(Array.from({ length: 70 }, (_, i) => ipam.allocate({ vni: 42, handle: `h${i}` })));
    assert.equal(new Set(all.map((a) => a.ip)).size, 70);
    assert.deepEqual([...server.held.keys()], ['42 10.42.0.0/26', '42 10.42.0.64/26']);
    assert.ok(all.every((a) => a.ip !== '10.42.0.0/24' && a.ip !== '10.42.0.1/24'));
  });

  it('returns a released address to its block and gives it out again', async () => {
    await ipam.allocate({ vni: 42, handle: 'a' });
    const b = await ipam.allocate({ vni: 42, handle: 'b' });
    assert.equal(await ipam.release(42, 'b'), true);
    assert.equal(await ipam.release(42, 'b'), false, 'an unknown handle');
    assert.equal((await ipam.allocate({ vni: 42, handle: 'c' })).ip, b.ip);
  });

  it('gives a block that empties back to the server', async () => {
    await ipam.allocate({ vni: 42, handle: 'a' });
    await ipam.release(42, 'a');
    await ipam.retryReleases();
    assert.deepEqual(server.released, ['10.42.0.0/26']);
    assert.equal(server.held.size, 0);
    ipam.close();
    assert.deepEqual(AllocationStore.open(path.join(dir, 'ipam.json')).blocks(), [], 'the block is gone here too');
  });

  it('keeps allocations and blocks across a reopen', async () => {
    const a = await ipam.allocate({ vni: 6, handle: 'x' });
    assert.equal(a.ip, '2001:db8::2/64');
    ipam = open();
    assert.deepEqual(ipam.allocated(), [a]);
    assert.deepEqual(await ipam.allocate({ vni: 6, handle: 'x' }), a);
    assert.equal((await ipam.allocate({ vni: 6, handle: 'y' })).ip, '2001:db8::3/64');
    assert.equal(server.held.size, 1, 'no block claimed after the reopen');
  });

  it('allocates from its blocks while the server is down, and says unavailable when they are full', async () => {
    await ipam.allocate({ vni: 43, handle: 'first' }).then(() => ipam.release(43, 'first'));
    await ipam.allocate({ vni: 42, handle: 'a' });
    server.down = true;
    assert.equal((await ipam.allocate({ vni: 42, handle: 'b' })).ip, '10.42.0.3/24');
    for (let i = 0; i < 60; i++) await ipam.allocate({ vni: 42, handle: `n${i}` });
    await assert.rejects(ipam.allocate({ vni: 42, handle: 'one-too-many' }), (err: unknown) => {
      assert.ok(kindOf('unavailable')(err), String(err));
      assert.match(
        (err as Error).message,
        /every address block of VNI 42 on this host is full, and cannot reach the server/,
      );
      return true;
    });
  });

  it('keeps an empty block it could not give back, retries, and takes it up again if needed first', async () => {
    await ipam.allocate({ vni: 42, handle: 'a' });
    server.down = true;
    await ipam.release(42, 'a');
    await ipam.retryReleases();
    assert.deepEqual(server.released, []);
    assert.equal(ipam.allocated().length, 0);
    // Needed again before the server is back: the block serves without a claim.
    assert.equal((await ipam.allocate({ vni: 42, handle: 'b' })).ip, '10.42.0.2/24');
    await ipam.release(42, 'b');
    server.down = false;
    await ipam.retryReleases();
    assert.deepEqual(server.released, ['10.42.0.0/26']);
  });

  it('says resource-exhausted when the server has no block left', async () => {
    assert.equal((await ipam.allocate({ vni: 43, handle: 'a' })).ip, '10.43.0.2/30');
    await assert.rejects(ipam.allocate({ vni: 43, handle: 'b' }), kindOf('resource-exhausted'));
  });

  it('takes an address asked for inside its blocks, refuses one taken, and refuses unknown VNIs and VNIs without a subnet', async () => {
    await ipam.allocate({ vni: 42, handle: 'a' });
    assert.equal((await ipam.allocate({ vni: 42, handle: 'b', ip: '10.42.0.40/24' })).ip, '10.42.0.40/24');
    assert.ok(ipam.holds(42, '10.42.0.40/32'));
    assert.ok(!ipam.holds(42, '10.42.0.140/24'));
    await assert.rejects(ipam.allocate({ vni: 42, handle: 'c', ip: '10.42.0.40/24' }), kindOf('already-exists'));
    await assert.rejects(ipam.allocate({ vni: 42, handle: 'd', ip: '10.42.0.1/24' }), kindOf('invalid-argument'));
    await assert.rejects(ipam.allocate({ vni: 99, handle: 'a' }), kindOf('not-found'));
    await assert.rejects(ipam.allocate({ vni: 7, handle: 'a' }), kindOf('failed-precondition'));
    await assert.rejects(ipam.allocate({ vni: 42, handle: 'x'.repeat(300) }), kindOf('invalid-argument'));
  });

  it("drops a deleted VNI's blocks and addresses", async () => {
    await ipam.allocate({ vni: 42, handle: 'a' });
    await ipam.allocate({ vni: 6, handle: 'b' });
    await ipam.prune([{ id: 6, subnet: SUBNETS[6] }]);
    assert.deepEqual(
      ipam.allocated().map((a) => a.vni),
      [6],
    );
    ipam = open();
    assert.deepEqual(
      ipam.allocated().map((a) => a.vni),
      [6],
    );
  });
});
