import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../../../common/log';
import { agentCommandHandlers } from '../../../../node-agent/commands/agent-commands';
import { dispatchCommand } from '../../../../node-agent/commands/command-dispatch';
import * as path from 'node:path';
import type {
  AttachRequest,
  AttachedEndpoint,
  EndpointAttacher,
} from '../../../../node-agent/kernel/endpoint-attacher';
import { AllocationStore } from '../../../../node-agent/ipam/allocation-store';
import { makeTempDir, removeTempDir } from '../../../../lab/temp-dir';
import { BlockAllocator } from '../../../../node-agent/ipam/block-allocator';
import { DuplicateDetector } from '../../../../node-agent/state/duplicate-detector';
import { RecordStore } from '../../../../node-agent/state/record-store';

const MAC = '02:00:5e:00:02:01';
const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });

// h2's command handlers, with a gossip view where h1 announces MAC in VNI 42; the attacher only notes
// what reached it.
function agentH2(h1Alive = true) {
  const store = new RecordStore({ node: 'h2', incarnation: 1, tombstoneTtlMs: 1000 });
  const h1 = new RecordStore({ node: 'h1', incarnation: 1, tombstoneTtlMs: 1000 });
  const body = { vni: 42, mac: MAC, ips: ['10.42.0.21/24'], mobilitySeq: 0, origin: 'api' as const };
  store.merge(h1.issue({ kind: 'endpoint', ...body, vtep: '198.18.0.11' }));
  const attached: string[] = [];
  const attacher = {
    attach: async (r: { vni: number; netns: string; ip: string; mac?: string }): Promise<AttachedEndpoint> => {
      attached.push(`${r.netns} ${r.mac ?? 'generated'}`);
      return { ...r, mac: r.mac ?? '02:00:00:00:00:01', interface: 'eth0', hostInterface: 'vxe0' };
    },
  } as unknown as EndpointAttacher;
  const handlers = agentCommandHandlers({
    name: 'h2',
    vtep: '198.18.0.12',
    store,
    attacher,
    // No address of these tests is in a block of this host's.
    ipam: { holds: () => false } as unknown as BlockAllocator,
    duplicates: new DuplicateDetector({ maxMoves: 3, windowMs: 60_000, freezeMs: 60_000 }),
    alive: (owner) => owner !== 'h1' || h1Alive,
    settle: async () => undefined,
    log: silent,
  });
  const attach = (mac: string, netns = 'ns2') =>
    dispatchCommand(
      { id: '1', cmd: 'attach', attach: { node: 'h2', vni: 42, netns, ip: '10.42.0.22/24', mac, interface: '' } },
      handlers,
      'test',
    );
  return { attach, attached };
}

describe('agent commands: attach of a MAC another host announces', () => {
  it('answers ALREADY_EXISTS naming the host, from its gossip view, before touching the kernel', async () => {
    const h2 = agentH2();
    const result = await h2.attach(MAC.toUpperCase());
    assert.equal(result.code, grpc.status.ALREADY_EXISTS, result.error);
    assert.equal(result.error, `MAC ${MAC} is already announced in VNI 42 by host h1; detach it there first`);
    assert.deepEqual(h2.attached, []);
  });

  it('attaches a MAC nobody else announces, and one announced by a host gossip has no longer alive', async () => {
    const h2 = agentH2();
    assert.equal((await h2.attach('02:00:5e:00:02:02')).error, undefined);
    const away = agentH2(false);
    assert.equal((await away.attach(MAC)).error, undefined);
    assert.deepEqual([...h2.attached, ...away.attached], ['ns2 02:00:5e:00:02:02', `ns2 ${MAC}`]);
  });
});

describe('agent commands: endpoint addresses from IPAM', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('ipam-commands')));
  afterEach(() => removeTempDir(dir));

  // h2's handlers with a real allocator whose server hands out 10.42.0.0/26; the attacher fails for
  // the namespace 'broken' and otherwise notes what it attached.
  function agentWithIpam() {
    const ipam = new BlockAllocator({
      store: AllocationStore.open(path.join(dir, 'ipam.json')),
      claims: { claim: async () => ({ cidr: '10.42.0.0/26', subnet: '10.42.0.0/24' }), release: async () => undefined },
      subnetOf: () => '10.42.0.0/24',
      log: silent,
    });
    const attached = new Map<string, AttachedEndpoint>();
    const attacher = {
      attach: async (r: AttachRequest): Promise<AttachedEndpoint> => {
        if (r.netns === 'broken') throw new Error('no such namespace');
        const e = { ...r, mac: '02:00:00:00:00:01', interface: 'eth0', hostInterface: 'vxe0' };
        attached.set(r.netns, e);
        return e;
      },
      detach: async (r: { netns: string }) => attached.get(r.netns)!,
    } as unknown as EndpointAttacher;
    const handlers = agentCommandHandlers({
      ...{ name: 'h2', vtep: '198.18.0.12', attacher, ipam, alive: () => true, settle: async () => undefined },
      store: new RecordStore({ node: 'h2', incarnation: 1, tombstoneTtlMs: 1000 }),
      duplicates: new DuplicateDetector({ maxMoves: 3, windowMs: 60_000, freezeMs: 60_000 }),
      log: silent,
    });
    const run = (cmd: 'attach' | 'detach', netns: string, ip = '') =>
      dispatchCommand(
        { id: '1', cmd, [cmd]: { node: 'h2', vni: 42, netns, ip, mac: '', interface: '' } },
        handlers,
        'test',
      );
    return { ipam, attached, run };
  }

  it('allocates the address of an attach without one and frees it at detach', async () => {
    const { ipam, attached, run } = agentWithIpam();
    assert.equal((await run('attach', 'ns1')).error, undefined);
    assert.equal(attached.get('ns1')?.ip, '10.42.0.2/24');
    assert.deepEqual(
      ipam.allocated().map((a) => [a.handle, a.ip]),
      [['ns1/eth0', '10.42.0.2/24']],
    );
    assert.equal((await run('detach', 'ns1')).error, undefined);
    assert.deepEqual(ipam.allocated(), []);
  });

  it('reserves an address given inside its block, leaves one outside alone, and frees one whose attach failed', async () => {
    const { ipam, run } = agentWithIpam();
    await run('attach', 'ns1');
    assert.equal((await run('attach', 'ns2', '10.42.0.9/24')).error, undefined);
    assert.equal((await run('attach', 'ns3', '10.42.0.200/24')).error, undefined);
    assert.match((await run('attach', 'broken')).error ?? '', /no such namespace/);
    assert.deepEqual(
      ipam.allocated().map((a) => a.handle),
      ['ns1/eth0', 'ns2/eth0'],
    );
    await run('detach', 'ns3');
    assert.equal(ipam.allocated().length, 2, 'an address IPAM did not give is not released');
  });
});
