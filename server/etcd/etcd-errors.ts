import { StorageUnavailableError } from '../database';

// etcd unreachable, or a commit whose outcome is unknown: refused as retryable, never as acknowledged.
export async function unavailableOnFailure<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new StorageUnavailableError(
      `cannot ${what} (${(err as Error).message}); a change may or may not have been kept: read it back and retry`,
    );
  }
}
