import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isBpffs } from '../node-agent/bpf/bpffs';
import { pidAlive } from './network';

// Unmounting a BPF filesystem frees everything pinned in it (each mount is an instance of its own).
export function releaseBpffsDir(dir: string): void {
  if (isBpffs(dir)) execFileSync('umount', [dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

// An empty directory for a test's own BPF filesystem (which the datapath mounts there), named by
// prefix and pid: those of runs with this prefix that died are unmounted and removed first.
export function bpffsDirFor(prefix: string): string {
  const stem = `vxgossip-${prefix}-bpffs-`;
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = name.startsWith(stem) ? Number(name.slice(stem.length)) : NaN;
    if (Number.isInteger(pid) && !pidAlive(pid)) releaseBpffsDir(path.join(os.tmpdir(), name));
  }
  const dir = path.join(os.tmpdir(), `${stem}${process.pid}`);
  fs.mkdirSync(dir);
  return dir;
}
