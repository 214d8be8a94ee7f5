import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { Level } from 'level';
import { createLogger, type Logger } from '../common/log';
import { RpcError } from './grpc-errors';
import { SerialQueue } from '../common/serial-queue';

export type WriteOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

// Refused because the database failed a write and is being reopened: retryable once it serves again.
export class StorageUnavailableError extends RpcError {
  constructor(message: string) {
    super(grpc.status.UNAVAILABLE, message);
  }
}

export interface DatabaseHealth {
  serving: boolean;
  // 'ok', or why writes are refused.
  reason: string;
}

export interface RecoveryOptions {
  // Reopening is retried with backoff for this long; then the server gives up (exits for its supervisor).
  giveUpAfterMs: number;
  firstRetryMs: number;
  maxRetryMs: number;
}

const RECOVERY: RecoveryOptions = { giveUpAfterMs: 30_000, firstRetryMs: 100, maxRetryMs: 5_000 };

// Rebuilds what a store holds in memory from the reopened database; may write (synced) to it.
export type Reload = (level: Level<string, string>) => Promise<void>;

// level's Node implementation (classic-level) can repair a database; its type does not say so.
const repairable = Level as unknown as { repair(location: string): Promise<void> };

const causeOf = (err: Error) => (err.cause instanceof Error ? err.cause : err) as Error & { code?: string };

// What to tell an operator about a database that does not open, and what to do next.
function openFailure(dir: string, err: Error): Error {
  const cause = causeOf(err);
  if (cause.code === 'LEVEL_LOCKED')
    return new Error(`cannot open the database in ${dir}: another server is using it (${cause.message})`);
  if (cause.code === 'LEVEL_CORRUPTION')
    return new Error(
      `the database in ${dir} is corrupt (${cause.message}); LevelDB can rebuild it from what is still readable, ` +
        `dropping what is not: stop every server using it, back ${dir} up, then run server --data-dir ${dir} --repair-database`,
    );
  return new Error(`cannot open the database in ${dir}: ${cause.message}`);
}

// The server's one level database, fail-stop. After a failed write LevelDB's log may end in a torn
// record, and a write after it on the same handle is lost at the next open ("checksum mismatch"); a
// failed write itself may or may not be kept. So the first failure stops every write (refused with
// UNAVAILABLE) until the database has been closed and reopened, which recovers the log, and every
// store has rebuilt its memory from what is on disk. Writes go one at a time, so none is ever issued
// behind a failed one.
export class Database extends EventEmitter<{ health: [DatabaseHealth]; lost: [Error] }> {
  // Why writes are refused; undefined while serving.
  private failure: string | undefined;
  private closed = false;
  private readonly writes = new SerialQueue();
  private readonly reloads: Reload[] = [];
  writeFailures = 0;

  private constructor(
    readonly dir: string,
    private readonly handle: Level<string, string>,
    private readonly log: Logger,
    private readonly recovery: RecoveryOptions,
  ) {
    super();
  }

  static async open(
    dir: string,
    log: Logger = createLogger({ component: 'server' }),
    recovery: Partial<RecoveryOptions> = {},
  ): Promise<Database> {
    const handle = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    await handle.open().catch((err: Error) => {
      throw openFailure(dir, err);
    });
    return new Database(dir, handle, log.child({ part: 'database' }), { ...RECOVERY, ...recovery });
  }

  // Rebuilds a damaged database from what LevelDB can still read; never run without the operator asking.
  static async repair(dir: string): Promise<void> {
    // LevelDB's repair takes no lock: it must not run under a server that holds one.
    const probe = new Level<string, string>(dir);
    await probe.open().then(
      () => probe.close(),
      (err: Error) => {
        if (causeOf(err).code === 'LEVEL_LOCKED') throw openFailure(dir, err);
      },
    );
    await repairable.repair(dir);
  }

  // For reads; refused while the database is being reopened.
  get level(): Level<string, string> {
    if (this.failure !== undefined) throw this.refusal();
    return this.handle;
  }

  health(): DatabaseHealth {
    return this.failure === undefined ? { serving: true, reason: 'ok' } : { serving: false, reason: this.failure };
  }

  // Runs after every reopen, in the order registered, before writes are accepted again.
  onReopen(reload: Reload): void {
    this.reloads.push(reload);
  }

  // One synced batch: resolves true once it is durable, or false, writing nothing, if `holds` says
  // no. It runs in the write queue, which every write goes through, so nothing changes between the
  // check and the batch. `committed` runs there too, before any later write: memory follows the
  // database in the order it was written.
  write(
    ops: WriteOp[],
    holds?: (level: Level<string, string>) => Promise<boolean>,
    committed?: () => void,
  ): Promise<boolean> {
    return this.writes.run(async () => {
      if (this.failure !== undefined) throw this.refusal();
      if (holds && !(await holds(this.handle))) return false;
      try {
        await this.handle.batch(ops, { sync: true });
        committed?.();
        return true;
      } catch (err) {
        this.fail(err as Error);
        throw new StorageUnavailableError(
          `${this.failure}; this change may or may not have been kept: read it back once the server serves again`,
        );
      }
    });
  }

  // Reads between writes: none of ours lands while `read` runs (what it rebuilds from the database
  // is not then overtaken by a change it missed).
  betweenWrites<T>(read: (level: Level<string, string>) => Promise<T>): Promise<T> {
    return this.writes.run(() => {
      if (this.failure !== undefined) throw this.refusal();
      return read(this.handle);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.handle.close();
  }

  private refusal(): StorageUnavailableError {
    return new StorageUnavailableError(`${this.failure}; writes are refused until then: retry in a few seconds`);
  }

  private fail(err: Error): void {
    this.writeFailures++;
    this.failure = `the database in ${this.dir} failed to write (${causeOf(err).message}); the server is reopening it`;
    this.log.error('database write failed: refusing writes until the database is reopened', {
      dataDir: this.dir,
      error: causeOf(err).message,
    });
    this.emit('health', this.health());
    void this.recover();
  }

  // Reopens with backoff until it works or the time is up; gives up at once on corruption, which
  // retrying does not mend.
  private async recover(): Promise<void> {
    const started = Date.now();
    let wait = this.recovery.firstRetryMs;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.reopen();
        this.failure = undefined;
        this.log.info('database reopened and reloaded: serving again', {
          attempts: attempt,
          afterMs: Date.now() - started,
        });
        this.emit('health', this.health());
        return;
      } catch (err) {
        const error = causeOf(err as Error);
        if (error.code === 'LEVEL_CORRUPTION' || Date.now() - started + wait > this.recovery.giveUpAfterMs) {
          const lost = error.code === 'LEVEL_CORRUPTION' ? openFailure(this.dir, err as Error) : error;
          this.log.error('cannot reopen the database: giving up', {
            dataDir: this.dir,
            attempts: attempt,
            error: lost,
          });
          this.emit(
            'lost',
            new Error(`cannot reopen the database in ${this.dir} after ${attempt} attempts: ${lost.message}`),
          );
          return;
        }
        this.log.warn('reopening the database failed: retrying', { attempt, error: error.message, retryInMs: wait });
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, this.recovery.maxRetryMs);
      }
    }
  }

  private async reopen(): Promise<void> {
    await this.handle.close();
    await this.handle.open();
    for (const reload of this.reloads) await reload(this.handle);
  }
}
