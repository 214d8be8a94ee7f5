import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { JoinTokens } from '../../../server/trust/join-tokens';
import { NodeRegistry, type EnrolledNode } from '../../../server/trust/node-registry';
import type { DurableKv } from '../../../server/durable-kv';
import type { KvFixture } from './kv-fixtures';

export const text = (t: { id: string; secret: string }) => `${t.id}.${t.secret}`;

// Enrols `name` with `token` as the enrolment service does: the token is checked, then spent in the
// write that records the node.
export function enrol(tokens: JoinTokens, registry: NodeRegistry, token: string, node: EnrolledNode, nowMs: number) {
  return registry.record(node, async () => {
    const redemption = await tokens.redeem(token, node.name);
    registry.checkFree(node.name, node.vteps, redemption.boundToNode, nowMs);
    return redemption;
  });
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: (err as { code: number }).code, message: (err as Error).message };
  }
  throw new Error('not refused');
}

// What join tokens and the node registry must do on every durable store.
export function enrolmentContract(makeFixture: () => Promise<KvFixture>): void {
  let fixture: KvFixture;
  let kv: DurableKv;
  let clock: number;
  let tokens: JoinTokens;
  let registry: NodeRegistry;
  const node = (name: string, vtep = '10.0.0.1'): EnrolledNode => ({
    name,
    vteps: [vtep],
    fingerprint: `fp-${name}`,
    notAfterMs: clock + 3600_000,
  });
  const spend = (token: string, name: string, vtep?: string) => enrol(tokens, registry, token, node(name, vtep), clock);

  const open = async () => {
    kv = await fixture.open();
    tokens = new JoinTokens(kv, () => clock);
    registry = await NodeRegistry.open(kv);
  };
  beforeEach(async () => {
    fixture = await makeFixture();
    clock = 1_000_000;
    await open();
  });
  afterEach(async () => {
    await registry.close().catch(() => undefined);
    await fixture.cleanup();
  });

  it('is good for as many hosts as it was made for, then gone', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 2, node: '' });
    await spend(text(t), 'h1', '10.0.0.1');
    await spend(text(t), 'h2', '10.0.0.2');
    const r = await refusal(spend(text(t), 'h3', '10.0.0.3'));
    assert.equal(r.code, grpc.status.PERMISSION_DENIED);
    assert.match(r.message, /unknown or already used up/);
    assert.deepEqual(registry.names().sort(), ['h1', 'h2']);
  });

  it('keeps only a hash of the secret, and refuses a wrong one', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 1, node: '' });
    for (const entry of await kv.range('tokens/')) assert.ok(!entry.value.includes(t.secret));
    const r = await refusal(spend(`${t.id}.${'x'.repeat(t.secret.length)}`, 'h1'));
    assert.match(r.message, /wrong secret/);
  });

  it('expires after its TTL (default 1 h), and expired tokens are cleared', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 1, node: '' });
    clock += 3600_001;
    assert.match((await refusal(spend(text(t), 'h1'))).message, /expired/);
    await tokens.create({ ttlSeconds: 0, uses: 1, node: '' });
    assert.equal((await kv.range('tokens/')).length, 1);
  });

  it('a token for a node is for that node only, and may replace its enrolment', async () => {
    await spend(text(await tokens.create({ ttlSeconds: 0, uses: 1, node: '' })), 'h1');
    const t = await tokens.create({ ttlSeconds: 600, uses: 2, node: 'h1' });
    assert.match((await refusal(spend(text(t), 'h2', '10.0.0.2'))).message, /for node h1, not h2/);
    await spend(text(t), 'h1', '10.0.0.9');
    assert.deepEqual(registry.get('h1')?.vteps, ['10.0.0.9']);
  });

  it('is not spent when the host is refused: a name or VTEP taken', async () => {
    await spend(text(await tokens.create({ ttlSeconds: 0, uses: 1, node: '' })), 'h1', '10.0.0.1');
    const t = await tokens.create({ ttlSeconds: 0, uses: 1, node: '' });
    assert.equal((await refusal(spend(text(t), 'h1', '10.0.0.2'))).code, grpc.status.ALREADY_EXISTS);
    assert.match((await refusal(spend(text(t), 'h2', '10.0.0.1'))).message, /VTEP 10\.0\.0\.1 belongs to node h1/);
    await spend(text(t), 'h2', '10.0.0.2');
  });

  it('keeps enrolled nodes and unspent uses across a reopen, and forgets removed nodes', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 2, node: '' });
    await spend(text(t), 'h1', '10.0.0.1');
    await spend(text(await tokens.create({ ttlSeconds: 0, uses: 1, node: '' })), 'h2', '10.0.0.2');
    await registry.remove('h2');
    await registry.close();
    await fixture.close();
    await open();
    assert.deepEqual(registry.get('h1'), node('h1', '10.0.0.1'));
    assert.equal(registry.get('h2'), undefined);
    await spend(text(t), 'h3', '10.0.0.3');
    assert.deepEqual(
      registry.vteps().sort((a, b) => a.node.localeCompare(b.node)),
      [
        { node: 'h1', vtep: '10.0.0.1' },
        { node: 'h3', vtep: '10.0.0.3' },
      ],
    );
  });

  it('refuses TTLs and uses out of bounds', async () => {
    await assert.rejects(tokens.create({ ttlSeconds: 8 * 24 * 3600, uses: 1, node: '' }), /ttl_seconds/);
    await assert.rejects(tokens.create({ ttlSeconds: 0, uses: 1001, node: '' }), /uses/);
    await assert.rejects(tokens.create({ ttlSeconds: 0, uses: 1, node: 'a b' }), /node/);
  });

  it('enrols many hosts at once, none refused for racing the others', async () => {
    const created = await Promise.all(
      Array.from({ length: 20 }, () => tokens.create({ ttlSeconds: 0, uses: 1, node: '' })),
    );
    await Promise.all(created.map((t, i) => spend(text(t), `h${i}`, `10.0.1.${i}`)));
    assert.equal(registry.names().length, 20);
  });

  it('lets only one of two hosts enrolling at once take a VTEP', async () => {
    const [t1, t2] = [
      await tokens.create({ ttlSeconds: 0, uses: 1, node: '' }),
      await tokens.create({ ttlSeconds: 0, uses: 1, node: '' }),
    ];
    const results = await Promise.allSettled([spend(text(t1), 'h1', '10.0.0.7'), spend(text(t2), 'h2', '10.0.0.7')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.match((refused.reason as Error).message, /VTEP 10\.0\.0\.7 belongs to node h[12]/);
    assert.equal(registry.names().length, 1);
  });
}
