import * as fs from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import { BpfError, bpfError } from './errors';
import { nativeBpf } from './native';

const { errno } = constants;

// Where the kernel's BPF filesystem is conventionally mounted, and where our pins live in it.
export const BPFFS_ROOT = '/sys/fs/bpf';
export const DEFAULT_PIN_DIR = path.join(BPFFS_ROOT, 'vxgossip');
const BPF_FS_MAGIC = 0xcafe4a11;
// The addon's buffer for the pin directory (PIN_PATH_LEN), less room for a pin's name.
const PIN_DIR_MAX = 900;

// False for a directory that does not exist.
export function isBpffs(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

// Pins outlive us only on a BPF filesystem: mount one at root when there is none (a fresh boot without
// systemd's mount, a container), then make the pin directory inside it. Returns whether it mounted.
export function preparePinDir(root: string, pinDir: string): boolean {
  const relative = path.relative(root, pinDir);
  if (relative.startsWith('..') || path.isAbsolute(relative) || Buffer.byteLength(pinDir) > PIN_DIR_MAX)
    throw new BpfError(
      errno.EINVAL,
      `pin directory ${pinDir}: must lie inside the BPF filesystem at ${root} (and be shorter)`,
    );
  if (!fs.existsSync(root))
    throw new BpfError(
      errno.ENOENT,
      `no directory ${root} to mount the BPF filesystem at: this kernel has no BPF support, or create the directory`,
    );
  let mounted = false;
  if (!isBpffs(root)) {
    try {
      nativeBpf().mountBpffs(root);
    } catch (err) {
      throw bpfError(err, 'mount');
    }
    mounted = true;
  }
  fs.mkdirSync(pinDir, { recursive: true, mode: 0o700 });
  return mounted;
}

// Everything we pinned goes (maps and programs: what is attached keeps running until detached or its
// interface goes). For an uninstall, and for tests.
export function removePins(pinDir: string): void {
  if (fs.existsSync(pinDir) && !isBpffs(pinDir))
    throw new BpfError(errno.EINVAL, `${pinDir} is not on a BPF filesystem: refusing to remove it`);
  fs.rmSync(pinDir, { recursive: true, force: true });
}
