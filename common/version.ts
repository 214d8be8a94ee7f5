import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './paths';

// The version this build was made from: package.json's, read once (the package ships it next to dist/).
export const VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
