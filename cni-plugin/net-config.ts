import {
  CNI_CODES,
  CniError,
  DEFAULT_AGENT_SOCKET,
  DEFAULT_DELETE_QUEUE_DIR,
  MAX_VALID_ATTACHMENTS,
  PATH_MAX_BYTES,
  checkContainerId,
} from '../common/cni/protocol';
import { checkInterfaceName, checkVniId } from '../common/validation';

// The versions of the spec this plugin speaks; STATUS and GC came with 1.1.0.
export const SUPPORTED_VERSIONS = ['1.0.0', '1.1.0'];
export const LATEST_VERSION = '1.1.0';
// A network configuration is small; a GC's list of valid attachments is what makes it grow.
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface NetConfig {
  cniVersion: string;
  name: string;
  vni: number;
  agentSocket: string;
  deleteQueue: string;
  dns?: unknown;
  // ADD chained after another plugin, CHECK and DEL: the result of the ADD before.
  prevResult?: Record<string, unknown>;
  // GC: the attachments the runtime still has.
  validAttachments?: Array<{ containerId: string; ifname: string }>;
}

type Json = Record<string, unknown>;

const invalid = (msg: string) => new CniError(CNI_CODES.invalidConfig, msg);

function pathField(config: Json, field: string, fallback: string): string {
  const value = config[field] ?? fallback;
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > PATH_MAX_BYTES)
    throw invalid(`${field}: expected an absolute path of at most ${PATH_MAX_BYTES} bytes`);
  return value;
}

function validAttachments(value: unknown): NetConfig['validAttachments'] {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_VALID_ATTACHMENTS)
    throw invalid(`cni.dev/valid-attachments: expected a list of at most ${MAX_VALID_ATTACHMENTS} attachments`);
  return value.map((a: Json) => {
    if (typeof a !== 'object' || a === null) throw invalid('cni.dev/valid-attachments: an entry is not an object');
    try {
      return { containerId: checkContainerId(a.containerID), ifname: checkInterfaceName('ifname', String(a.ifname)) };
    } catch (err) {
      throw invalid(`cni.dev/valid-attachments: ${(err as Error).message}`);
    }
  });
}

// The version alone, for VERSION (whose stdin holds nothing else) and for error output.
export function versionOf(config: unknown): string | undefined {
  const v = (config as Json | undefined)?.cniVersion;
  return typeof v === 'string' ? v : undefined;
}

export function parseNetConfig(text: string): NetConfig {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES)
    throw new CniError(CNI_CODES.decodingFailure, `the network configuration is larger than ${MAX_CONFIG_BYTES} bytes`);
  let config: Json;
  try {
    config = JSON.parse(text) as Json;
  } catch (err) {
    throw new CniError(CNI_CODES.decodingFailure, `the network configuration is not JSON: ${(err as Error).message}`);
  }
  if (typeof config !== 'object' || config === null) throw invalid('the network configuration is not a JSON object');
  const cniVersion = versionOf(config);
  if (!cniVersion || !SUPPORTED_VERSIONS.includes(cniVersion))
    throw new CniError(
      CNI_CODES.incompatibleVersion,
      `cniVersion ${JSON.stringify(cniVersion ?? null)} is not supported: use one of ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  const name = config.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/.test(name))
    throw invalid(
      `name: ${JSON.stringify(String(name).slice(0, 64))} is not a network name (a letter or digit, then letters, digits, '_', '.', '-')`,
    );
  if (config.vni === undefined) throw invalid(`vni: missing; give the VNI network ${name} joins, e.g. "vni": 42`);
  let vni: number;
  try {
    vni = checkVniId(config.vni, 'vni');
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const prev = config.prevResult;
  return {
    cniVersion,
    name,
    vni,
    agentSocket: pathField(config, 'agentSocket', DEFAULT_AGENT_SOCKET),
    deleteQueue: pathField(config, 'deleteQueue', DEFAULT_DELETE_QUEUE_DIR),
    ...(config.dns === undefined ? {} : { dns: config.dns }),
    ...(typeof prev === 'object' && prev !== null ? { prevResult: prev as Json } : {}),
    ...(config['cni.dev/valid-attachments'] === undefined
      ? {}
      : { validAttachments: validAttachments(config['cni.dev/valid-attachments']) }),
  };
}
