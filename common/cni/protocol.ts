// What the vxgossip CNI plugin and the agent say to each other over the agent's unix socket (HTTP/1.1,
// JSON bodies), and the error codes both report to the runtime. The plugin turns what the agent
// answers into the CNI result; the agent never sees the runtime's JSON.

// The CNI spec's well-known error codes (SPEC.md, 1.1.0), and ours (100 and up).
export const CNI_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  // The agent could not do what was asked (the message says what failed).
  agentFailed: 100,
  // No free address in the VNI's subnet on this host.
  addressesExhausted: 101,
  // CHECK found the attachment different from what ADD made.
  checkFailed: 102,
} as const;

export interface CniErrorBody {
  code: number;
  msg: string;
  details?: string;
}

// A failure with its CNI code, as the runtime gets it.
export class CniError extends Error {
  override readonly name = 'CniError';

  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }

  body(): CniErrorBody {
    return { code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export const DEFAULT_AGENT_SOCKET = '/run/vxgossip/cni.sock';
// Deletions the plugin could not hand to the agent; persistent, as the addresses they free are.
export const DEFAULT_DELETE_QUEUE_DIR = '/var/lib/vxgossip/cni-delete-queue';

// Bounds on what crosses the socket: a GC lists every attachment the runtime still has.
export const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
export const MAX_VALID_ATTACHMENTS = 10_000;
// The spec bounds neither; runtimes use 64 hex digits and paths under /run/netns or /proc.
export const CONTAINER_ID_MAX = 128;
export const PATH_MAX_BYTES = 200;

export const PATHS = {
  add: '/v1/add',
  del: '/v1/del',
  check: '/v1/check',
  gc: '/v1/gc',
  status: '/v1/status',
} as const;

// One attachment of a container to a network: CNI's (container ID, interface) within the VNI.
export interface AttachmentKey {
  vni: number;
  containerId: string;
  ifname: string;
}

export interface AddRequest extends AttachmentKey {
  // The container's network namespace, a path (/run/netns/NAME, /proc/PID/ns/net).
  netns: string;
}

export interface CheckRequest extends AddRequest {
  // The address and MAC the runtime's prevResult says the container has.
  ip?: string;
  mac?: string;
}

export interface GcRequest {
  vni: number;
  valid: Array<{ containerId: string; ifname: string }>;
}

// What the agent made for an ADD.
export interface Attachment {
  hostInterface: string;
  hostMac?: string;
  ifname: string;
  mac: string;
  netns: string;
  // With the subnet's prefix length.
  ip: string;
  // For a routed (L3) VNI: the anycast gateway the container's default route goes through.
  gateway?: string;
  mtu: number;
}

export interface StatusAnswer {
  ready: boolean;
  // Why not, when not ready.
  reasons: string[];
}

export interface GcAnswer {
  released: number;
}

// The IPAM handle of an attachment: CNI's own, apart from Docker's endpoints and ctl's namespaces.
export const CNI_HANDLE_PREFIX = 'cni/';
export const ipamHandle = (containerId: string, ifname: string) => `${CNI_HANDLE_PREFIX}${containerId}/${ifname}`;

// The spec: alphanumeric, hyphen, underscore and period; not empty.
export function checkContainerId(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(value) || value.length > CONTAINER_ID_MAX)
    throw new CniError(
      CNI_CODES.invalidEnvironment,
      `CNI_CONTAINERID: ${JSON.stringify(String(value).slice(0, 64))} is not a container ID (1-${CONTAINER_ID_MAX} letters, digits, '_', '.', '-')`,
    );
  return value;
}

// An absolute path without '..' or NUL: the runtime's handle on the container's namespace.
export function checkNetnsPath(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !value.startsWith('/') ||
    value.length > PATH_MAX_BYTES ||
    /\0/.test(value) ||
    value.split('/').includes('..')
  )
    throw new CniError(
      CNI_CODES.invalidEnvironment,
      `CNI_NETNS: ${JSON.stringify(String(value).slice(0, 64))} is not the absolute path of a network namespace (at most ${PATH_MAX_BYTES} bytes, no '..')`,
    );
  return value;
}
