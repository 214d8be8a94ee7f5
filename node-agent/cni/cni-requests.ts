import {
  AddRequest,
  AttachmentKey,
  CNI_CODES,
  CheckRequest,
  CniError,
  GcRequest,
  MAX_VALID_ATTACHMENTS,
  checkContainerId,
  checkNetnsPath,
} from '../../common/cni/protocol';
import { checkEndpointIp, checkInterfaceName, checkUnicastMac, checkVniId } from '../../common/validation';

// Every request body the socket takes, checked field by field before anything acts on it: the socket
// is root's, but what comes through it is still input from outside.

type Body = Record<string, unknown>;

function checked<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw new CniError(CNI_CODES.invalidConfig, (err as Error).message);
  }
}

// A string field as given; anything else is refused by the check it goes to.
const text = (value: unknown) => (typeof value === 'string' ? value : '');

const object = (value: unknown): Body => {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CniError(CNI_CODES.decodingFailure, 'the request is not a JSON object');
  return value as Body;
};

export function attachmentKeyOf(value: unknown): AttachmentKey {
  const body = object(value);
  return checked(() => ({
    vni: checkVniId(body.vni, 'vni'),
    containerId: checkContainerId(body.containerId),
    ifname: checkInterfaceName('ifname', text(body.ifname)),
  }));
}

export function addRequestOf(value: unknown): AddRequest {
  return { ...attachmentKeyOf(value), netns: checkNetnsPath(object(value).netns) };
}

export function checkRequestOf(value: unknown): CheckRequest {
  const body = object(value);
  return checked(() => ({
    ...addRequestOf(body),
    ...(body.ip === undefined ? {} : { ip: cidrOf(text(body.ip)) }),
    ...(body.mac === undefined ? {} : { mac: checkUnicastMac('mac', text(body.mac)) }),
  }));
}

const cidrOf = (value: string) => {
  const c = checkEndpointIp('ip', value);
  return `${c.address}/${c.prefixLength}`;
};

export function gcRequestOf(value: unknown): GcRequest {
  const body = object(value);
  if (!Array.isArray(body.valid) || body.valid.length > MAX_VALID_ATTACHMENTS)
    throw new CniError(
      CNI_CODES.invalidConfig,
      `valid: expected a list of at most ${MAX_VALID_ATTACHMENTS} attachments`,
    );
  const vni = checked(() => checkVniId(body.vni, 'vni'));
  const valid = body.valid.map((v) => {
    const { containerId, ifname } = attachmentKeyOf({ ...object(v), vni });
    return { containerId, ifname };
  });
  return { vni, valid };
}
