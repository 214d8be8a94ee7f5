import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

export function errnoName(errno: number): string {
  const name = systemErrors.get(-errno)?.[0] ?? `errno ${errno}`;
  // Linux gives 95 two names; libuv picks ENOTSUP, the kernel's netlink code says EOPNOTSUPP.
  return name === 'ENOTSUP' ? 'EOPNOTSUPP' : name;
}

const errnoText = (errno: number): string => systemErrors.get(-errno)?.[1] ?? 'unknown error';

// The kernel refused a request. `code` is the errno name (EEXIST, ENODEV, EPERM, ...) so callers can
// branch on it; the message names the operation, the object and the kernel's own explanation.
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  readonly code: string;

  constructor(
    readonly errno: number,
    readonly operation: string,
    readonly object: string,
    readonly kernelMessage?: string,
  ) {
    super(`${operation} ${object}: ${errnoName(errno)} (${kernelMessage ?? errnoText(errno)})`);
    this.code = errnoName(errno);
  }

  // The errno name of any failed request (a refusal, a timeout, a lost socket), or undefined for
  // an error that did not come from the kernel side.
  static codeOf(err: unknown): string | undefined {
    const code = (err as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : undefined;
  }
}

// A message from the kernel (or a fuzzer) that does not parse.
export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
}

// A request got no answer in time: the socket stays usable, the request is abandoned.
export class NetlinkTimeoutError extends Error {
  override readonly name = 'NetlinkTimeoutError';
  readonly code = 'ETIMEDOUT';
}

// The kernel dropped messages to us (ENOBUFS) or the socket failed: whatever was in flight, or the
// notifications we were following, are incomplete and the caller must resynchronise by dumping.
export class NetlinkResyncNeeded extends Error {
  override readonly name = 'NetlinkResyncNeeded';
  readonly code = 'ENOBUFS';
}
