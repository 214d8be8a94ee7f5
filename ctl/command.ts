import type { ParseArgsConfig } from 'node:util';
import type { OutputFormat } from './output';
import type { ServerChoice } from './server-choice';
import type { OptionalValue } from './optional-flag-values';

export interface Context {
  // The server's replicas (--server), and the one this invocation talks to: clients come from it.
  servers: ServerChoice;
  output: OutputFormat;
  // --no-headers: tables without their header line.
  noHeaders: boolean;
  // The command as typed, for messages: "vni list", "status".
  command: string;
  timeoutMs: number;
  out: (text: string) => void;
}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

// A leaf command: its flags, positional arguments and help text.
export interface Command {
  name: string;
  summary: string;
  usage: string;
  details?: string;
  options: Options;
  // What shell completion offers for its first positional argument: these words, or what the server
  // lists (ctl asks it as the completion is typed).
  completes?: string[] | 'vnis' | 'nodes';
  // Flags of `options` that may also stand alone (--wait for --wait=60s).
  optionalValues?: Record<string, OptionalValue>;
  // Resolves to the exit code when it is not 0 (ctl status, when degraded).
  run(ctx: Context, values: FlagValues, positionals: string[]): Promise<void | number>;
}

// A command with sub-commands, e.g. `vni`; or, with `single`, a command of one word (`status`)
// whose only entry in `commands` runs directly.
export interface Group {
  name: string;
  summary: string;
  commands: Command[];
  single?: boolean;
}
