import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// A fresh directory under the OS's temporary directory; the vxgossip- prefix makes leftovers of an
// interrupted run easy to recognise.
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vxgossip-${prefix}-`));
}

// Removes a directory from makeTempDir with everything in it; one already gone is not an error.
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
