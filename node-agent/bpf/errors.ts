import { errnoName } from '../netlink/errors';

// What the agent was doing when the kernel or libbpf refused: the hint depends on it.
export type BpfOperation = 'load' | 'mount' | 'attach' | 'map';

const ROOT_HINT =
  'loading and attaching BPF programs needs root (CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN): run the agent as root';

// A BPF operation failed. `code` is the errno name (EPERM, ENOENT, ...) so callers can branch on it;
// the message says what failed and what to do about it.
export class BpfError extends Error {
  override readonly name = 'BpfError';
  readonly code: string;

  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.code = errno > 0 ? errnoName(errno) : 'EINVAL';
  }
}

function hintFor(errno: number, operation: BpfOperation, message: string): string | undefined {
  const code = errnoName(errno);
  // The verifier's refusals come back as EACCES or EINVAL with its log (quoted by the addon).
  if (operation === 'load' && message.includes('PROG LOAD LOG'))
    return 'the kernel refused the program (its verifier log is above): this build of the datapath does not suit this kernel';
  if (code === 'EPERM' || code === 'EACCES') return ROOT_HINT;
  if (operation === 'mount')
    return 'mount a BPF filesystem there first (mount -t bpf bpf DIR) or run the agent where it may mount one';
  if (operation === 'attach' && (code === 'ENODEV' || code === 'ENOENT'))
    return 'the interface does not exist (or not in that network namespace): attach after creating it';
  if (operation === 'map' && code === 'E2BIG') return 'the map is full: it was sized at build time';
  return undefined;
}

// An error from the addon (which carries errno and says what failed), with what to do appended.
export function bpfError(err: unknown, operation: BpfOperation): BpfError {
  const e = err as { errno?: unknown; message?: unknown };
  const errno = typeof e?.errno === 'number' ? e.errno : 0;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const hint = hintFor(errno, operation, message);
  return new BpfError(errno, hint ? `${message}; ${hint}` : message);
}
