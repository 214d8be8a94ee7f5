import type { Record as RecordProto, Record__Output } from '../generated/vxgossip/v1/Record';
import type { Endpoint } from '../generated/vxgossip/v1/Endpoint';
import type { EndpointBody, StateRecord } from './fdb-state/record';
import { MAX_COUNTER, MAX_INCARNATION } from './fdb-state/version';
import {
  ValidationError,
  checkInteger,
  checkInterfaceName,
  checkIp,
  checkNodeName,
  checkUnicastMac,
  checkVniId,
  parseCidr,
} from './validation';

// An endpoint as the API and the wire show it. Version and origin time travel on the record around
// it; the API adds them where an endpoint stands alone.
export function endpointToProto(owner: string, b: EndpointBody): Endpoint {
  return {
    vni: b.vni,
    mac: b.mac,
    ips: b.ips,
    node: owner,
    vtep: b.vtep,
    mobilitySeq: b.mobilitySeq,
    origin: b.origin === 'api' ? 'ENDPOINT_ORIGIN_API' : 'ENDPOINT_ORIGIN_LEARNED',
    frozen: b.frozen === true,
    netns: b.netns ?? '',
    interface: b.interface ?? '',
  };
}

export function recordToProto(r: StateRecord): RecordProto {
  const base = { owner: r.owner, version: r.version, tombstone: r.tombstone, originTimeMs: r.originTimeMs };
  const b = r.body;
  if (b.kind === 'membership') return { ...base, membership: { vni: b.vni, node: r.owner, vtep: b.vtep } };
  return { ...base, endpoint: endpointToProto(r.owner, b) };
}

const MAX_IPS_PER_ENDPOINT = 16;

// An attached endpoint's namespace (a name, a runtime's path or a label) and interface, as `ctl
// endpoint list` shows them: bounded printable text, else left out (the endpoint itself still counts).
const MAX_NETNS_LENGTH = 255;
export function whereAttached(netns: string, iface: string): { netns?: string; interface?: string } {
  const control = [...netns].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (netns === '' || netns.length > MAX_NETNS_LENGTH || control) return {};
  try {
    return { netns, ...(iface ? { interface: checkInterfaceName('endpoint.interface', iface) } : {}) };
  } catch {
    return { netns };
  }
}

// Everything a peer (or an agent, for the server) sends is validated here: a record that fails
// throws ValidationError naming the field, and the caller drops and counts it.
export function recordFromProto(p: Record__Output): StateRecord {
  checkNodeName('record.owner', p.owner);
  const version = {
    incarnation: checkInteger('record.version.incarnation', Number(p.version?.incarnation ?? 0), 0, MAX_INCARNATION),
    counter: checkInteger('record.version.counter', Number(p.version?.counter ?? 0), 1, MAX_COUNTER),
  };
  const base = { owner: p.owner, version, tombstone: p.tombstone, originTimeMs: Number(p.originTimeMs) };
  if (p.body === 'membership' && p.membership) {
    const m = p.membership;
    return {
      ...base,
      body: { kind: 'membership', vni: checkVniId(m.vni, 'membership.vni'), vtep: checkIp('membership.vtep', m.vtep) },
    };
  }
  if (p.body === 'endpoint' && p.endpoint) {
    const e = p.endpoint;
    if (e.ips.length > MAX_IPS_PER_ENDPOINT)
      throw new ValidationError('endpoint.ips', `at most ${MAX_IPS_PER_ENDPOINT} addresses per endpoint`);
    return {
      ...base,
      body: {
        kind: 'endpoint',
        vni: checkVniId(e.vni, 'endpoint.vni'),
        mac: checkUnicastMac('endpoint.mac', e.mac),
        ips: e.ips.map((ip) => {
          const c = parseCidr('endpoint.ips', ip);
          return `${c.address}/${c.prefixLength}`;
        }),
        vtep: checkIp('endpoint.vtep', e.vtep),
        mobilitySeq: checkInteger('endpoint.mobility_seq', Number(e.mobilitySeq), 0, Number.MAX_SAFE_INTEGER),
        origin: e.origin === 'ENDPOINT_ORIGIN_API' ? 'api' : 'learned',
        ...(e.frozen ? { frozen: true as const } : {}),
        ...(e.origin === 'ENDPOINT_ORIGIN_API' ? whereAttached(e.netns, e.interface) : {}),
      },
    };
  }
  throw new ValidationError('record.body', 'a record must carry an endpoint or a membership');
}
