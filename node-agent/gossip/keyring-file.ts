import * as fs from 'node:fs';
import { Keyring } from 'memberlist-ts';
import { UsageError } from '../../common/cli';

// The keyrings are a few keys; a larger file is not one.
const MAX_KEYRING_BYTES = 64 * 1024;

// serf's keyring format: a JSON array of base64 keys, the first one primary.
export function readKeyringFile(file: string): Keyring {
  try {
    if (fs.statSync(file).size > MAX_KEYRING_BYTES) throw new Error('larger than 64 KiB; is it the right file?');
    const keys = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string'))
      throw new Error('expected a non-empty JSON array of base64 strings');
    return Keyring.fromBase64(keys);
  } catch (err) {
    throw new UsageError(`--keyring-file ${file}: ${(err as Error).message}`);
  }
}

// The keyring --encrypt-key or --keyring-file gives, if either does.
export function loadKeyring(key: string | undefined, file: string | undefined): Keyring | undefined {
  if (key && file) throw new UsageError('give --encrypt-key or --keyring-file, not both');
  if (key) {
    try {
      return Keyring.fromBase64([key]);
    } catch (err) {
      throw new UsageError(`--encrypt-key: ${(err as Error).message}`);
    }
  }
  return file ? readKeyringFile(file) : undefined;
}

// Makes the running keyring (the one memberlist encrypts with) the file's, as ctl keys would, step
// by step: install the new keys, use the new primary, remove what the file no longer has.
export function syncKeyring(
  running: Keyring,
  wanted: Keyring,
): { installed: number; removed: number; primaryChanged: boolean } {
  const had = running.all();
  const want = wanted.all();
  const has = (keys: Buffer[], key: Buffer) => keys.some((k) => k.equals(key));
  const added = want.filter((k) => !has(had, k));
  for (const k of added) running.install(k);
  const primaryChanged = !running.primary.equals(wanted.primary);
  running.use(wanted.primary);
  const gone = had.filter((k) => !has(want, k));
  for (const k of gone) running.remove(k);
  return { installed: added.length, removed: gone.length, primaryChanged };
}
