import { ConfigError } from './config-file';

// A daemon's variables: its prefix and the flag's name in capitals, '-' as '_' (--data-dir of the
// agent is VXGOSSIP_AGENT_DATA_DIR).
export function envNameOf(prefix: string, flag: string): string {
  return prefix + flag.toUpperCase().replace(/-/g, '_');
}

// A flag's value from its variable, or from an older name it had (below the new one); an empty
// variable is unset, as `Environment=NAME=` in a unit means.
export function envValue(
  env: NodeJS.ProcessEnv,
  names: string[],
  type: 'string' | 'boolean',
): { value: string | boolean; name: string } | undefined {
  const name = names.find((n) => env[n] !== undefined && env[n] !== '');
  if (name === undefined) return undefined;
  const text = env[name]!;
  if (type === 'string') return { value: text, name };
  if (text === 'true' || text === '1') return { value: true, name };
  if (text === 'false' || text === '0') return { value: false, name };
  throw new ConfigError(`${name}: expected true, false, 1 or 0, got "${text.slice(0, 64)}"`);
}
