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
// reopened after a failed write (which may or may not have been kept).
export class LevelKv implements DurableKv {
  private readonly followers = new Set<{ prefix: string; listener: KvListener }>();

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
      guards.map((guard) => ({ ...guard, key: toLevel(guard.key) })),
      () => {
        for (const { prefix, listener } of this.followers)
          for (const op of ops)
            if (op.key.startsWith(prefix))
              listener.change(
                op.key,
                op.type === 'put' ? { key: op.key, value: op.value, version: op.value } : undefined,
              );
      },
    );
  }

  async follow(prefix: string, listener: KvListener): Promise<KvFollower> {
    const follower = { prefix, listener };
    const resync = async () => listener.reset(await rangeOf(this.db.level, prefix));
    await resync();
    this.followers.add(follower);
    this.db.onReopen(async (level) => {
      if (this.followers.has(follower)) listener.reset(await rangeOf(level, prefix));
    });
    return {
      resync,
      close: async () => void this.followers.delete(follower),
    };
  }
}
