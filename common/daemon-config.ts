import { parseFlags } from './cli';
import { envNameOf, envValue } from './config-env';
import { ConfigError, kindOf, readConfigFile } from './config-file';

export { envNameOf };

// A daemon's options as node:util's parseArgs takes them: the one table its flags, its variables and
// its config file are all read by, so they cannot drift apart.
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  // A comma-separated list (--join A,B): the config file may give it as a YAML sequence too.
  list?: boolean;
}
export type OptionTable = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : string;
export type ConfigValues<T extends OptionTable> = {
  -readonly [K in keyof T]: T[K] extends { default: string | boolean } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
} & { config?: string };

export interface DaemonConfigSpec<T extends OptionTable> {
  name: string;
  // Its variables' prefix: VXGOSSIP_SERVER_ or VXGOSSIP_AGENT_.
  envPrefix: string;
  options: T;
  // Flags that are an action, not a setting (--help, --repair-database): neither file nor variable.
  commandLineOnly: ReadonlyArray<keyof T & string>;
  // Variables the daemon read before it had a prefix, kept below the new name: flag -> variable.
  legacyEnv?: Partial<Record<keyof T & string, string>>;
}

export interface DaemonConfig<T extends OptionTable> {
  values: ConfigValues<T>;
  // The config file read, if any.
  file?: string;
  // Where each option that is not at its default was set: '--flag', a variable, or a file's key.
  origins: Record<string, string>;
}

const CONFIG_FLAG = 'config';

function fileValue(file: string, key: string, spec: OptionSpec, value: unknown): string | boolean {
  if (spec.type === 'boolean') {
    if (typeof value === 'boolean') return value;
    throw new ConfigError(`config file ${file}: key "${key}" must be true or false, not ${kindOf(value)}`);
  }
  if (spec.list && Array.isArray(value))
    return value.map((item, i) => textOf(file, `${key}[${i}]`, item, 'a string')).join(',');
  return textOf(file, key, value, spec.list ? 'a string, a number or a list of strings' : 'a string or a number');
}

// A number is the flag's text: `max-records-per-owner: 5000` means --max-records-per-owner 5000.
function textOf(file: string, key: string, value: unknown, expected: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new ConfigError(`config file ${file}: key "${key}" must be ${expected}, not ${kindOf(value)}`);
}

function settingsOf<T extends OptionTable>(spec: DaemonConfigSpec<T>): string[] {
  return Object.keys(spec.options).filter((k) => !spec.commandLineOnly.includes(k));
}

function readFile<T extends OptionTable>(spec: DaemonConfigSpec<T>, file: string): Record<string, string | boolean> {
  const settings = settingsOf(spec);
  const values: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(readConfigFile(file))) {
    if (spec.commandLineOnly.includes(key))
      throw new ConfigError(`config file ${file}: "${key}" is given on the command line only (--${key})`);
    if (!settings.includes(key))
      throw new ConfigError(`config file ${file}: unknown key "${key}"; the keys are ${settings.join(', ')}`);
    values[key] = fileValue(file, key, spec.options[key], value);
  }
  return values;
}

// Each option from the strongest source that sets it: flags, then the environment, then the config
// file (--config, else $PREFIX_CONFIG), then the table's defaults.
export function loadDaemonConfig<T extends OptionTable>(
  spec: DaemonConfigSpec<T>,
  argv: string[],
  env: NodeJS.ProcessEnv,
): DaemonConfig<T> {
  // Defaults are applied last, so parseArgs must not fill them in.
  const table: OptionTable = Object.fromEntries(
    Object.entries(spec.options).map(([k, { default: _default, list: _list, ...rest }]) => [k, rest]),
  );
  const { values: flags } = parseFlags({ args: argv, options: { ...table, [CONFIG_FLAG]: { type: 'string' } } });
  const given = flags as Record<string, string | boolean | undefined>;
  const configEnv = envNameOf(spec.envPrefix, CONFIG_FLAG);
  const file = (given[CONFIG_FLAG] as string | undefined) || env[configEnv] || undefined;
  const fromFile = file ? readFile(spec, file) : {};

  const values: Record<string, string | boolean | undefined> = { [CONFIG_FLAG]: file };
  const origins: Record<string, string> = {};
  if (file) origins[CONFIG_FLAG] = given[CONFIG_FLAG] ? `--${CONFIG_FLAG}` : configEnv;
  for (const [key, option] of Object.entries(spec.options)) {
    if (given[key] !== undefined) {
      values[key] = given[key];
      origins[key] = `--${key}`;
      continue;
    }
    if (spec.commandLineOnly.includes(key)) continue;
    const legacy = spec.legacyEnv?.[key];
    const fromEnv = envValue(env, [envNameOf(spec.envPrefix, key), ...(legacy ? [legacy] : [])], option.type);
    if (fromEnv) {
      values[key] = fromEnv.value;
      origins[key] = fromEnv.name;
    } else if (key in fromFile) {
      values[key] = fromFile[key];
      origins[key] = `key "${key}" of ${file}`;
    } else values[key] = option.default;
  }
  return { values: values as ConfigValues<T>, file, origins };
}

// Where an option was set, for an error about its value: '--flag', a variable or a file's key.
export function whereSet<T extends OptionTable>(config: DaemonConfig<T>, key: string): string {
  return config.origins[key] ?? 'the default';
}

// An error about a flag's value (they name it --flag), told where the value came from when it was
// not the command line: a bad VXGOSSIP_AGENT_DUP_WINDOW is found under its own name.
export function withOrigin<T extends OptionTable>(config: DaemonConfig<T>, err: Error): Error {
  const flag = /--([a-z][a-z0-9-]*)/.exec(err.message)?.[1];
  const origin = flag === undefined ? undefined : config.origins[flag];
  if (origin === undefined || origin === `--${flag}`) return err;
  err.message = `${err.message} (set by ${origin})`;
  return err;
}

// Runs a check of values from config, its error told where the value came from.
export function withOriginOf<T extends OptionTable, R>(config: DaemonConfig<T>, check: () => R): R {
  try {
    return check();
  } catch (err) {
    throw withOrigin(config, err as Error);
  }
}

// The part of a daemon's --help about where its options come from and what SIGHUP changes.
export function configUsage<T extends OptionTable>(spec: DaemonConfigSpec<T>, live: readonly string[]): string {
  const only = spec.commandLineOnly.map((k) => `--${k}`).join(', ');
  return `Options also come from variables and a config file: --data-dir is $${envNameOf(spec.envPrefix, 'data-dir')}
(the prefix, the name in capitals, '-' as '_') and the key "data-dir" of the YAML file that --config
FILE (or $${envNameOf(spec.envPrefix, CONFIG_FLAG)}) names; a flag wins over a variable, a variable over the file,
and ${only} only on the command line.
SIGHUP reads the file and the variables again and applies at once:
  ${live.map((k) => `--${k}`).join(', ')};
a change to anything else is logged as needing a restart, and a file with a mistake is logged and
the running configuration kept.`;
}
