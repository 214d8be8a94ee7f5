import * as fs from 'node:fs';
import { parseDocument } from 'yaml';

// A daemon's config file is a YAML mapping of its flag names to values, read whole: it is small,
// and a file larger than this is a mistake (a wrong path), not a configuration.
export const MAX_CONFIG_BYTES = 1 << 20;

// What the operator must fix in a config file or a variable; the daemon exits 2 with it at start
// and logs it on a reload.
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// How a value read from YAML is named in an error.
export function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'empty';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

function readBounded(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new ConfigError(`config file ${file}: cannot read it: ${(err as Error).message}`);
  }
  try {
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
    if (length > MAX_CONFIG_BYTES)
      throw new ConfigError(`config file ${file}: larger than 1 MiB; is it the right file?`);
    return buffer.subarray(0, length).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`config file ${file}: cannot read it: ${(err as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

// The file's top-level mapping as plain values. YAML 1.2 (the yaml package's default) reads `no`
// and `off` as strings, not booleans, and duplicate keys are refused rather than the last winning.
export function readConfigFile(file: string): Record<string, unknown> {
  const doc = parseDocument(readBounded(file), { uniqueKeys: true, prettyErrors: true });
  const [error] = doc.errors;
  if (error) throw new ConfigError(`config file ${file}: ${error.message.split('\n')[0]}`);
  const values = doc.toJS() as unknown;
  if (values === null || values === undefined) return {};
  if (typeof values !== 'object' || Array.isArray(values))
    throw new ConfigError(`config file ${file}: expected a mapping of option names to values, not ${kindOf(values)}`);
  return values as Record<string, unknown>;
}
