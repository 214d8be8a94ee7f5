import type { Level } from 'level';
import type { Database } from './database';
import type { DurableKv, KvEntry, KvFollower, KvGuard, KvListener, KvOp } from './durable-kv';

// Where level keeps the logical prefixes: the keys data dirs made before the seam existed.
const LEVEL_PREFIXES: Array<[logical: string, level: string]> = [
  ['nodes/', 'enrolled/'],
  ['tokens/', 'token/'],
  ['blocks/', 'block/'],
  ['config/revision', 'meta/revision'],
];

function toLevel(key: string): string {
  const mapped = LEVEL_PREFIXES.find(([logical]) => key.startsWith(logical));
  return mapped ? mapped[1] + key.slice(mapped[0].length) : key;
}

function fromLevel(key: string): string {
  const mapped = LEVEL_PREFIXES.find(([, level]) => key.startsWith(level));
  return mapped ? mapped[0] + key.slice(mapped[1].length) : key;
}

// A value is its own version: one process writes, one write at a time, so "the value I read is
// still there" is "nobody wrote it since" (a write of the very same value changes nothing either).
const entry = (key: string, value: string): KvEntry => ({ key: fromLevel(key), value, version: value });

async function rangeOf(level: Level<string, string>, prefix: string): Promise<KvEntry[]> {
  const start = toLevel(prefix);
  const entries: KvEntry[] = [];
  for await (const [key, value] of level.iterator({ gte: start, lt: `${start}\xff` })) entries.push(entry(key, value));
  return entries;
}

// The durable key-value seam on the server's level database. This server is its only writer, so
// followers hear of its own writes only, as they commit, and are reset whenever the database is
// reopened after a failed write (which may or may not have been kept). One per database: followers
// hear only of the writes made through the same LevelKv.
export class LevelKv implements DurableKv {
  private readonly followers = new Set<{ prefix: string; listener: KvListener }>();
  // Per followed prefix, how often memory changed: what a prefix guard compares.
  private readonly changes = new Map<string, number>();

  constructor(private readonly db: Database) {}

  async get(key: string): Promise<KvEntry | undefined> {
    const value = await this.db.level.get(toLevel(key));
    return value === undefined ? undefined : entry(toLevel(key), value);
  }

  range(prefix: string): Promise<KvEntry[]> {
    return rangeOf(this.db.level, prefix);
  }

  write(ops: KvOp[], guards: KvGuard[] = []): Promise<boolean> {
    return this.db.write(
      ops.map((op) => ({ ...op, key: toLevel(op.key) })),
      (level) => this.hold(level, guards),
      () => {
        for (const { prefix, listener } of this.followers) {
          const touched = ops.filter((op) => op.key.startsWith(prefix));
          for (const op of touched)
            listener.change(
              op.key,
              op.type === 'put' ? { key: op.key, value: op.value, version: op.value } : undefined,
            );
          if (touched.length > 0) this.changed(prefix);
        }
      },
    );
  }

  private async hold(level: Level<string, string>, guards: KvGuard[]): Promise<boolean> {
    for (const guard of guards) {
      const holds =
        'prefix' in guard
          ? String(this.changes.get(guard.prefix) ?? 0) === guard.since
          : (await level.get(toLevel(guard.key))) === guard.version;
      if (!holds) return false;
    }
    return true;
  }

  private changed(prefix: string): void {
    this.changes.set(prefix, (this.changes.get(prefix) ?? 0) + 1);
  }

  async follow(prefix: string, listener: KvListener): Promise<KvFollower> {
    const follower = { prefix, listener };
    const reset = async (level: Level<string, string>) => {
      listener.reset(await rangeOf(level, prefix));
      this.changed(prefix);
    };
    await this.db.betweenWrites(async (level) => {
      await reset(level);
      this.followers.add(follower);
    });
    this.db.onReopen(async (level) => {
      if (this.followers.has(follower)) await reset(level);
    });
    return {
      resync: () => this.db.betweenWrites(reset),
      unchanged: () => ({ prefix, since: String(this.changes.get(prefix) ?? 0) }),
      close: async () => void this.followers.delete(follower),
    };
  }
}
