import type { WriteOp } from './database';
import { StorageUnavailableError } from './database';

// A key, its value, and what a guard compares to tell whether it changed since it was read (etcd's
// mod_revision, or with level the value itself). Opaque to callers.
export interface KvEntry {
  key: string;
  value: string;
  version: string;
}

// "The key is still at this version", or with `version` undefined "the key does not exist"; or
// (from KvFollower.unchanged) "no key under the prefix was written since the follower's memory was
// current" (a deletion may go unnoticed: it only frees what the memory still holds as taken).
export type KvGuard = { key: string; version: string | undefined } | { prefix: string; since: string };

export type KvOp = WriteOp;

// Told every change under a prefix in the order the store committed them: this replica's and (with
// etcd) other replicas'. `reset` replaces everything (at start, after a resync, after level reopens).
export interface KvListener {
  reset(entries: KvEntry[]): void;
  change(key: string, entry: KvEntry | undefined): void;
}

export interface KvFollower {
  // Reads the prefix again and resets the listener: after a guard was lost, memory may be behind.
  resync(): Promise<void>;
  // Holds while nothing under the prefix has changed since now: for a write planned on the whole of
  // the follower's memory (a VTEP no other node holds).
  unchanged(): KvGuard;
  close(): Promise<void>;
}

// The durable key-value store the server's shared state is written to: level for one server, etcd
// for several replicas. Keys are logical ('nodes/<name>', 'tokens/<id>', 'blocks/...', 'pki/...'):
// each store maps them to its own layout.
export interface DurableKv {
  get(key: string): Promise<KvEntry | undefined>;
  range(prefix: string): Promise<KvEntry[]>;
  // Writes all ops at once if every guard holds, else nothing: resolves false then. Resolves only
  // once the write is durable and every follower of a prefix it touched has been told of it. A
  // failure is StorageUnavailableError: the write may or may not have been kept.
  write(ops: KvOp[], guards?: KvGuard[]): Promise<boolean>;
  follow(prefix: string, listener: KvListener): Promise<KvFollower>;
}

// Holds while the VNI configuration is still at `revision`: both VNI stores keep their revision in
// 'config/revision' (level: its value; etcd: its mod_revision), absent before the first change. A write
// planned against a list of VNIs (an address block cut from a VNI's subnet) carries it.
export function configUnchanged(revision: number): KvGuard {
  return { key: 'config/revision', version: revision === 0 ? undefined : String(revision) };
}

// Another replica changed what a write was planned on; after this many lost races in a row the
// change is refused as retryable rather than retried forever.
export const MAX_ATTEMPTS = 5;

// Plans and commits a guarded write until its guards hold. `attempt` plans against what it last read
// and resolves true once committed (or throws the refusal the plan found); `resync` re-reads.
export async function untilCommitted(
  what: string,
  attempt: () => Promise<boolean>,
  resync: () => Promise<void>,
): Promise<void> {
  for (let n = 1; n <= MAX_ATTEMPTS; n++) {
    if (await attempt()) return;
    await resync();
  }
  throw new StorageUnavailableError(
    `other server replicas kept changing what ${what} depends on: ${MAX_ATTEMPTS} attempts lost the race; retry`,
  );
}
