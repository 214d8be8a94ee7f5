import { strict as assert } from 'node:assert';
import { EndpointAttacher } from '../../../../node-agent/kernel/endpoint-attacher';
import { AgentError } from '../../../../node-agent/agent-errors';
import { ValidationError } from '../../../../common/validation';
import { createLogger } from '../../../../common/log';
import type { Rtnetlink } from '../../../../node-agent/netlink';

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

  it('refuses loopback, unspecified and multicast endpoint addresses', async () => {
    await refusedAs({ ip: '127.0.0.1/8' }, 'ip');
    await refusedAs({ ip: '0.0.0.0/0' }, 'ip');
    await refusedAs({ ip: '224.0.0.1/32' }, 'ip');
  });
});
