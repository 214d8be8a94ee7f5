import { parseArgs, ParseArgsConfig } from 'node:util';

// A usage mistake: the command prints it with a pointer to --help and exits 2.
export class UsageError extends Error {}

// node:util's parseArgs (strict by default), with its errors turned into UsageError so every command
// reports them alike.
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
