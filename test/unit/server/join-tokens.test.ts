import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { JoinTokens } from '../../../server/trust/join-tokens';
import { Database } from '../../../server/database';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';

describe('join tokens', () => {
  let dir: string;
  let db: Database;
  let clock: number;
  let tokens: JoinTokens;
  const text = (t: { id: string; secret: string }) => `${t.id}.${t.secret}`;
  const refusal = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return { code: (err as { code: number }).code, message: (err as Error).message };
    }
    return undefined;
  };

  beforeEach(async () => {
    dir = makeTempDir('tokens');
    db = await Database.open(dir);
    clock = 1_000_000;
    tokens = new JoinTokens(db, () => clock);
  });

  afterEach(async () => {
    await db.close();
    removeTempDir(dir);
  });

  it('is good for as many hosts as it was made for, then gone', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 2, node: '' });
    await tokens.spend(text(t), 'h1', () => undefined);
    await tokens.spend(text(t), 'h2', () => undefined);
    const r = await refusal(tokens.spend(text(t), 'h3', () => undefined));
    assert.equal(r?.code, grpc.status.PERMISSION_DENIED);
    assert.match(r.message, /unknown or already used up/);
  });

  it('keeps only a hash of the secret, and refuses a wrong one', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 1, node: '' });
    for await (const value of db.level.values()) assert.ok(!value.includes(t.secret));
    const r = await refusal(tokens.spend(`${t.id}.${'x'.repeat(t.secret.length)}`, 'h1', () => undefined));
    assert.match(r!.message, /wrong secret/);
  });

  it('expires after its TTL (default 1 h)', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 1, node: '' });
    clock += 3600_001;
    assert.match((await refusal(tokens.spend(text(t), 'h1', () => undefined)))!.message, /expired/);
  });

  it('a token for a node is for that node only, and says so to the check', async () => {
    const t = await tokens.create({ ttlSeconds: 600, uses: 2, node: 'h1' });
    assert.match((await refusal(tokens.spend(text(t), 'h2', () => undefined)))!.message, /for node h1, not h2/);
    let bound: boolean | undefined;
    await tokens.spend(text(t), 'h1', (b) => (bound = b));
    assert.equal(bound, true);
  });

  it('is not spent when the check refuses the host', async () => {
    const t = await tokens.create({ ttlSeconds: 0, uses: 1, node: '' });
    await assert.rejects(
      tokens.spend(text(t), 'h1', () => {
        throw new Error('name taken');
      }),
      /name taken/,
    );
    await tokens.spend(text(t), 'h2', () => undefined);
  });

  it('refuses TTLs and uses out of bounds', async () => {
    await assert.rejects(tokens.create({ ttlSeconds: 8 * 24 * 3600, uses: 1, node: '' }), /ttl_seconds/);
    await assert.rejects(tokens.create({ ttlSeconds: 0, uses: 1001, node: '' }), /uses/);
    await assert.rejects(tokens.create({ ttlSeconds: 0, uses: 1, node: 'a b' }), /node/);
  });
});
