import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import type { Level } from 'level';
import { VniStore } from '../../../server/vni-store';
import { ReplicaChange, ReplicaStore } from '../../../server/replica-store';
import { JoinTokens } from '../../../server/trust/join-tokens';
import { LevelKv } from '../../../server/level-kv';
import type { Database } from '../../../server/database';
import type { StateRecord } from '../../../common/fdb-state/record';
import { createLogger } from '../../../common/log';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';

const silent = createLogger({ component: 'test', level: 'error', write: () => undefined });

const record = (mac: string, counter: number): StateRecord => ({
  owner: 'h1',
  version: { incarnation: 1, counter },
  tombstone: false,
  originTimeMs: 0,
  body: { kind: 'endpoint', vni: 42, mac, ips: [], vtep: '10.0.0.1', mobilitySeq: 0, origin: 'api' },
});

// A disk that fills up on demand: batches fail as LevelDB's do on ENOSPC (after writing them anyway,
// if `keepsFailed`: LevelDB does not promise either way), and so does opening, until it has room.
function faultyDisk(level: Level<string, string>) {
  const disk = { full: false, keepsFailed: false };
  const batch = level.batch.bind(level) as (...args: unknown[]) => Promise<void>;
  const open = level.open.bind(level);
  const noSpace = () =>
    Object.assign(new Error('IO error: 000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' });
  Object.assign(level, {
    batch: async (...args: unknown[]) => {
      if (!disk.full) return batch(...args);
      if (disk.keepsFailed) await batch(...args);
      throw noSpace();
    },
    open: async () => {
      if (disk.full) throw Object.assign(new Error('Database failed to open'), { cause: noSpace() });
      return open();
    },
  });
  return disk;
}

async function refusal(p: Promise<unknown>): Promise<{ code: grpc.status; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: (err as { code: grpc.status }).code, message: (err as Error).message };
  }
  throw new Error('the write was acknowledged');
}

const serving = (db: Database) =>
  new Promise<void>((resolve) => db.on('health', (h) => (h.serving ? resolve() : undefined)));

describe('fail-stop storage (a level whose writes fail on demand)', () => {
  let dir: string;
  let vnis: VniStore;
  let replicas: ReplicaStore;
  let disk: ReturnType<typeof faultyDisk>;

  const open = async (giveUpAfterMs = 5_000) => {
    vnis = await VniStore.open(dir, silent, { giveUpAfterMs, firstRetryMs: 5, maxRetryMs: 20 });
    replicas = await ReplicaStore.open(vnis.db);
    disk = faultyDisk(vnis.db.level);
  };
  beforeEach(async () => {
    dir = makeTempDir('fail-stop');
    await open();
  });
  afterEach(async () => {
    disk.full = false;
    await vnis.close();
    removeTempDir(dir);
  });

  it('refuses every write with UNAVAILABLE from a failed write until reopened, then serves without reusing a revision', async () => {
    await vnis.create({ id: 1 });
    await vnis.create({ id: 2 });
    await replicas.merge('h1', '10.0.0.1', [record('02:00:00:00:00:01', 1)]);
    // A node's liveness change: a revision watches have seen, only in memory.
    const liveness = replicas.advanceRevision();
    const tokens = new JoinTokens(new LevelKv(vnis.db));

    disk.full = true;
    const failed = await refusal(vnis.create({ id: 3 }));
    assert.equal(failed.code, grpc.status.UNAVAILABLE);
    assert.match(failed.message, /the database in .* failed to write \(IO error: .*No space left on device\)/);
    assert.match(failed.message, /may or may not have been kept/);
    assert.deepEqual(vnis.db.health(), {
      serving: false,
      reason: `the database in ${dir} failed to write (IO error: 000003.log: No space left on device); the server is reopening it`,
    });
    // No write goes behind a failed one until the database has been reopened.
    const reopened = serving(vnis.db);
    for (const write of [
      vnis.create({ id: 4 }),
      vnis.delete(1),
      vnis.revoke('h9'),
      replicas.merge('h1', '10.0.0.1', [record('02:00:00:00:00:02', 2)]),
      tokens.create({ ttlSeconds: 0, uses: 1, node: '' }),
    ]) {
      const r = await refusal(write);
      assert.equal(r.code, grpc.status.UNAVAILABLE, r.message);
      assert.match(r.message, /the server is reopening it; writes are refused until then/);
    }
    assert.deepEqual(
      vnis.list().map((v) => v.id),
      [1, 2],
    );
    assert.equal(vnis.currentRevision(), 2, 'a failed write does not move the revision');

    disk.full = false;
    await reopened;
    assert.equal(vnis.db.health().serving, true);
    const next = await vnis.create({ id: 3 });
    assert.equal(next.revision, 4, 'revision 3 went to the failed write and is not handed out again');
    const changes: ReplicaChange[] = [];
    replicas.on('change', (c) => changes.push(c));
    await replicas.merge('h1', '10.0.0.1', [record('02:00:00:00:00:02', 2)]);
    assert.ok(changes[0].revision > liveness, `revision ${changes[0].revision} after liveness ${liveness}`);

    await vnis.close();
    await open();
    assert.equal(vnis.currentRevision(), 4);
    assert.deepEqual(
      vnis.list().map((v) => v.id),
      [1, 2, 3],
    );
    assert.equal(replicas.currentRevision(), changes[0].revision, 'the revision a watch saw last is durable');
  });

  it('takes what a failed write left on disk as the truth once reopened: listeners and watches are told', async () => {
    await vnis.create({ id: 1 });
    await replicas.merge('h1', '10.0.0.1', [record('02:00:00:00:00:01', 1)]);
    const configs: Array<[number, number[]]> = [];
    vnis.onChange((revision, list) => configs.push([revision, list.map((v) => v.id)]));
    const changes: ReplicaChange[] = [];
    replicas.on('change', (c) => changes.push(c));
    Object.assign(disk, { full: true, keepsFailed: true });

    let reopened = serving(vnis.db);
    await refusal(replicas.merge('h1', '10.0.0.1', [record('02:00:00:00:00:01', 2)]));
    assert.equal(changes.length, 0);
    disk.full = false;
    await reopened;
    assert.deepEqual(
      changes.map((c) => [c.revision > 2, c.before?.version.counter, c.after.version.counter]),
      [[true, 1, 2]],
      'the kept record is a change after the two revisions its failed batch was written with',
    );
    assert.equal(replicas.recordsOf('h1')[0].version.counter, 2);

    disk.full = true;
    reopened = serving(vnis.db);
    await refusal(vnis.create({ id: 2 }));
    disk.full = false;
    await reopened;
    assert.equal(vnis.get(2).revision, 2);
    assert.deepEqual(configs.at(-1), [2, [1, 2]]);
  });

  it('gives up when the database cannot be reopened in time, saying why', async () => {
    await vnis.close();
    await open(200);
    disk.full = true;
    const lost = new Promise<Error>((resolve) => vnis.db.on('lost', resolve));
    await refusal(vnis.create({ id: 1 }));
    const err = await lost;
    assert.match(
      err.message,
      /cannot reopen the database in .* after \d+ attempts: IO error: .*No space left on device/,
    );
    assert.equal(vnis.db.health().serving, false);
  });
});
