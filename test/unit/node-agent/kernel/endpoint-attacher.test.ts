import { strict as assert } from 'node:assert';
import { EndpointAttacher } from '../../../../node-agent/kernel/endpoint-attacher';
import { AgentError } from '../../../../node-agent/agent-errors';
import { ValidationError } from '../../../../common/validation';
import { createLogger } from '../../../../common/log';
import type { Link, Rtnetlink } from '../../../../node-agent/netlink';
import { MemoryKernel } from '../../../helpers/memory-kernel';

// Each request here is refused before the kernel is asked anything: no netlink socket behind it.
const noKernel = new Proxy({} as Rtnetlink, {
  get: () => {
    throw new Error('the kernel was reached');
  },
});
const attacher = new EndpointAttacher(
  noKernel,
  'h1',
  () => undefined,
  createLogger({ component: 'test', level: 'error' }),
);
const request = { vni: 42, netns: 'ns1', ip: '10.42.0.5/24' };

async function refusedAs(over: Partial<typeof request> & { interface?: string }, field: string): Promise<void> {
  await assert.rejects(attacher.attach({ ...request, ...over }), (err: unknown) => {
    const invalid =
      (err instanceof ValidationError && err.field === field) ||
      (err instanceof AgentError && err.kind === 'invalid-argument' && err.message.startsWith(`${field}:`));
    assert.ok(invalid, `expected an invalid ${field}, got ${String(err)}`);
    return true;
  });
}

describe('endpoint attacher input (issue #13)', () => {
  it("refuses an interface name with '%' (the kernel would name the veth after its template)", async () => {
    await refusedAs({ interface: 'x%d' }, 'interface');
  });

  it('refuses a namespace name too long for the alias the endpoint is recorded in (ERANGE)', async () => {
    await refusedAs({ netns: 'n'.repeat(200) }, 'netns');
    await refusedAs({ netns: 'n'.repeat(300) }, 'netns');
  });

  it("refuses an L3 endpoint at its VNI's gateway address", async () => {
    const routed = new EndpointAttacher(
      noKernel,
      'h1',
      (vni) => ({ device: 'vxl3-8472', routed: { vni, subnet: '10.42.0.0/24', gateway: '10.42.0.1' } }),
      createLogger({ component: 'test', level: 'error' }),
    );
    await assert.rejects(routed.attach({ ...request, ip: '10.42.0.1/24' }), (err: unknown) => {
      assert.ok(err instanceof ValidationError && err.field === 'ip', String(err));
      assert.match(err.message, /is the gateway of VNI 42/);
      return true;
    });
  });

  it('refuses loopback, unspecified and multicast endpoint addresses', async () => {
    await refusedAs({ ip: '127.0.0.1/8' }, 'ip');
    await refusedAs({ ip: '0.0.0.0/0' }, 'ip');
    await refusedAs({ ip: '224.0.0.1/32' }, 'ip');
  });
});

describe('endpoint attacher: a recreated bridge', () => {
  it('gets the veths of its attached endpoints back, up; other links are left alone', async () => {
    const kernel = new MemoryKernel();
    // The alias an attach writes on the host side of the veth: the endpoint, as the kernel keeps it.
    const alias = (vni: number) =>
      `vxgossip:ep ${JSON.stringify({ vni, netns: 'ns', if: 'eth0', ip: '10.0.0.1/24', mac: '02:00:00:00:00:01' })}`;
    const veth = (name: string, index: number, alias: string | undefined, master?: number, up = true): Link => ({
      index,
      name,
      kind: 'veth',
      flags: 0,
      up,
      mtu: 1500,
      mac: undefined,
      master,
      alias,
      link: undefined,
    });
    for (const link of [
      veth('vxe-cut', 31, alias(42)),
      veth('vxe-down', 32, alias(42), 11, false),
      veth('vxe-in', 33, alias(42), 11),
      veth('vxe-routed', 34, alias(77)),
      veth('other', 35, undefined),
    ])
      kernel.linksByName.set(link.name, link);
    const attacher = new EndpointAttacher(
      kernel.rt,
      'h1',
      () => undefined,
      createLogger({ component: 'test', level: 'error' }),
    );
    await attacher.replug([{ vni: 42, vxlanIndex: 10, bridgeIndex: 11, headEnd: true }]);
    assert.deepEqual(kernel.writes, ['link vxe-cut {"master":11,"up":true}', 'link vxe-down {"master":11,"up":true}']);
    kernel.writes.length = 0;
    await attacher.replug([{ vni: 42, vxlanIndex: 10, bridgeIndex: 11, headEnd: true }]);
    assert.deepEqual(kernel.writes, [], 'all in place: nothing to write');
  });
});
