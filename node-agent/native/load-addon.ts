import * as path from 'node:path';
import { repoRoot } from '../../common/paths';

// Loads one of our N-API addons (binding.gyp), compiled by node-gyp during `npm ci`.
export function loadAddon<T>(name: string): T {
  const file = path.join(repoRoot, 'build', 'Release', `${name}.node`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an addon at a computed path has no import form
    return require(file) as T;
  } catch (err) {
    throw new Error(
      `cannot load the addon ${file}: ${(err as Error).message}; run \`npm ci\` (or \`npm rebuild\`) to build it`,
    );
  }
}
