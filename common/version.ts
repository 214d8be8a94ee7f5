import * as fs from 'node:fs';
import * as path from 'node:path';

// The package's version, from its package.json (two levels above dist/common, in the repository and
// in an installed package alike).
export const VXGOSSIP_VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;
