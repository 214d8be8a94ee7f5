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

// grpc-js names an IP target as the TLS server name, and Node warns (DEP0123) on every connection.
// Our certificates carry IP SANs and the check is by IP, so the warning says nothing here; every
// other warning still prints.
export function silenceIpServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  };
}
