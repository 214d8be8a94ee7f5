import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SerialQueue } from '../../common/serial-queue';
import { RpcError } from '../grpc-errors';
import type { Database } from '../database';
import { checkInteger, checkNodeName } from '../../common/validation';

interface StoredToken {
  secretSha256: string;
  expireTimeMs: number;
  usesLeft: number;
  node?: string;
}

const DEFAULT_TTL_S = 3600;
const MAX_TTL_S = 7 * 24 * 3600;
const MAX_USES = 1000;
// Tokens are cheap to make; a bound keeps a careless script from filling the database.
const MAX_LIVE_TOKENS = 10_000;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number): string {
  return [...randomBytes(length)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
const dbKey = (id: string) => `token/${id}`;

// Join tokens, durable in level: only a hash of each secret is kept, and a token is spent (its uses
// counted down, synced) before the certificate it pays for is issued.
export class JoinTokens {
  private readonly writes = new SerialQueue();

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  async create(request: {
    ttlSeconds: number;
    uses: number;
    node: string;
  }): Promise<{ id: string; secret: string; expireTimeMs: number; uses: number }> {
    const ttl =
      request.ttlSeconds === 0 ? DEFAULT_TTL_S : checkInteger('ttl_seconds', request.ttlSeconds, 60, MAX_TTL_S);
    const uses = request.uses === 0 ? 1 : checkInteger('uses', request.uses, 1, MAX_USES);
    const node = request.node ? checkNodeName('node', request.node) : undefined;
    return this.writes.run(async () => {
      await this.removeExpired();
      if ((await this.live()).length >= MAX_LIVE_TOKENS)
        throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, `${MAX_LIVE_TOKENS} join tokens are live; let some expire`);
      const id = randomText(6);
      const secret = randomText(24);
      const token: StoredToken = {
        secretSha256: sha256(secret).toString('hex'),
        expireTimeMs: this.now() + ttl * 1000,
        usesLeft: uses,
        ...(node ? { node } : {}),
      };
      await this.db.write([{ type: 'put', key: dbKey(id), value: JSON.stringify(token) }]);
      return { id, secret, expireTimeMs: token.expireTimeMs, uses };
    });
  }

  // Spends one use of the token for `node`; throws PERMISSION_DENIED naming what is wrong with it.
  // Returns whether the token was bound to that node (it may then replace an enrolled one).
  // `check` runs before the use is spent: a host refused for another reason keeps its token.
  spend(text: string, node: string, check: (boundToNode: boolean) => void): Promise<void> {
    return this.writes.run(async () => {
      const [id, secret] = text.split('.');
      const denied = (why: string) => new RpcError(grpc.status.PERMISSION_DENIED, `join token refused: ${why}`);
      if (!id || !secret || !/^[a-z0-9]{6}$/.test(id)) throw denied('malformed');
      const raw = await this.db.level.get(dbKey(id));
      if (raw === undefined) throw denied('unknown or already used up');
      const token = JSON.parse(raw) as StoredToken;
      const expected = Buffer.from(token.secretSha256, 'hex');
      if (!timingSafeEqual(sha256(secret), expected)) throw denied('wrong secret');
      if (this.now() > token.expireTimeMs) throw denied('expired; create a new one with ctl token create');
      if (token.node && token.node !== node) throw denied(`it is for node ${token.node}, not ${node}`);
      check(token.node === node);
      await this.db.write([
        token.usesLeft <= 1
          ? { type: 'del', key: dbKey(id) }
          : { type: 'put', key: dbKey(id), value: JSON.stringify({ ...token, usesLeft: token.usesLeft - 1 }) },
      ]);
    });
  }

  private async live(): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.db.level.keys({ gt: 'token/', lt: 'token/\xff' })) ids.push(key);
    return ids;
  }

  private async removeExpired(): Promise<void> {
    const now = this.now();
    const expired: string[] = [];
    for await (const [key, value] of this.db.level.iterator({ gt: 'token/', lt: 'token/\xff' })) {
      if ((JSON.parse(value) as StoredToken).expireTimeMs < now) expired.push(key);
    }
    if (expired.length > 0) await this.db.write(expired.map((key) => ({ type: 'del' as const, key })));
  }
}
