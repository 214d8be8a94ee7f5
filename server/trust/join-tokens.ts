import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SerialQueue } from '../../common/serial-queue';
import { RpcError } from '../grpc-errors';
import type { DurableKv } from '../durable-kv';
import type { Prerequisite } from './node-registry';
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
const PREFIX = 'tokens/';
const tokenKey = (id: string) => `${PREFIX}${id}`;

// Spending one use of a token: what to write, guarded by the token being as it was when checked.
export interface Redemption extends Prerequisite {
  // The token was made for this node: it may replace the node's enrolment.
  boundToNode: boolean;
}

// Join tokens, durable in the store: only a hash of each secret is kept, and a token is spent (its
// uses counted down) in the same guarded write that records the node it enrols (NodeRegistry.record),
// so two server replicas cannot both spend its last use.
export class JoinTokens {
  private readonly writes = new SerialQueue();

  constructor(
    private readonly kv: DurableKv,
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
      const live = await this.removeExpired();
      if (live >= MAX_LIVE_TOKENS)
        throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, `${MAX_LIVE_TOKENS} join tokens are live; let some expire`);
      const id = randomText(6);
      const secret = randomText(24);
      const token: StoredToken = {
        secretSha256: sha256(secret).toString('hex'),
        expireTimeMs: this.now() + ttl * 1000,
        usesLeft: uses,
        ...(node ? { node } : {}),
      };
      const written = await this.kv.write(
        [{ type: 'put', key: tokenKey(id), value: JSON.stringify(token) }],
        [{ key: tokenKey(id), version: undefined }],
      );
      // 36^6 ids make a collision all but impossible; still, a token never overwrites another.
      if (!written) throw new RpcError(grpc.status.ABORTED, 'the new join token collided with an existing one: retry');
      return { id, secret, expireTimeMs: token.expireTimeMs, uses };
    });
  }

  // Checks the token for `node` (PERMISSION_DENIED naming what is wrong with it) and plans spending
  // one use of it. Nothing is spent until the plan is written.
  async redeem(text: string, node: string): Promise<Redemption> {
    const [id, secret] = text.split('.');
    const denied = (why: string) => new RpcError(grpc.status.PERMISSION_DENIED, `join token refused: ${why}`);
    if (!id || !secret || !/^[a-z0-9]{6}$/.test(id)) throw denied('malformed');
    const stored = await this.kv.get(tokenKey(id));
    if (stored === undefined) throw denied('unknown or already used up');
    const token = JSON.parse(stored.value) as StoredToken;
    const expected = Buffer.from(token.secretSha256, 'hex');
    if (!timingSafeEqual(sha256(secret), expected)) throw denied('wrong secret');
    if (this.now() > token.expireTimeMs) throw denied('expired; create a new one with ctl token create');
    if (token.node && token.node !== node) throw denied(`it is for node ${token.node}, not ${node}`);
    return {
      boundToNode: token.node === node,
      ops: [
        token.usesLeft <= 1
          ? { type: 'del', key: tokenKey(id) }
          : { type: 'put', key: tokenKey(id), value: JSON.stringify({ ...token, usesLeft: token.usesLeft - 1 }) },
      ],
      guards: [{ key: tokenKey(id), version: stored.version }],
    };
  }

  // Removes expired tokens and counts the live ones. Expired here is expired for every replica, so
  // the deletes need no guard.
  private async removeExpired(): Promise<number> {
    const now = this.now();
    const tokens = await this.kv.range(PREFIX);
    const expired = tokens.filter((t) => (JSON.parse(t.value) as StoredToken).expireTimeMs < now);
    if (expired.length > 0) await this.kv.write(expired.map(({ key }) => ({ type: 'del' as const, key })));
    return tokens.length - expired.length;
  }
}
