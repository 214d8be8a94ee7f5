import type { EndpointServiceClient } from '../generated/vxgossip/v1/EndpointService';
import type { Endpoint__Output } from '../generated/vxgossip/v1/Endpoint';
import type { ListEndpointsResponse__Output } from '../generated/vxgossip/v1/ListEndpointsResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import {
  checkEndpointIp,
  checkInterfaceName,
  checkNetnsName,
  checkNodeName,
  checkUnicastMac,
  checkVniId,
} from '../common/validation';
import type { Command, Context, FlagValues, Group } from './command';
import { printAnswer, printList } from './print';
import { endpointResource, endpointView } from './views/endpoint';

export function client(ctx: Context): Promise<EndpointServiceClient> {
  return ctx.servers.client(v1().EndpointService);
}

export function required(values: FlagValues, flag: string): string {
  const v = values[flag];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} is required`);
  return v;
}

export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

export function filterFrom(values: FlagValues) {
  return {
    vni: values.vni === undefined ? 0 : checkVniId(values.vni, 'vni'),
    node: values.node === undefined ? '' : checkNodeName('node', values.node as string),
    mac: values.mac === undefined ? '' : checkUnicastMac('mac', values.mac as string),
  };
}

// Follows page tokens until the server says there is no more.
export async function allPages<T>(page: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = '';
  do {
    const { items, next } = await page(token);
    all.push(...items);
    token = next;
  } while (token !== '');
  return all;
}

const attach: Command = {
  name: 'attach',
  summary: 'attach a network namespace on a host to a VNI: a veth in br<VNI> with the given or an allocated address',
  usage: 'ctl endpoint attach --node NODE --vni VNI --netns NS [--ip ADDR/LEN] [--mac MAC] [--interface NAME]',
  details: `  --node       the host (agent name) where the namespace lives
  --vni        the VNI to attach to; it must exist
  --netns      a named network namespace on that host (ip netns)
  --ip         the endpoint's address with prefix length, e.g. 10.42.0.2/24; without it the host
               allocates one from its address blocks of the VNI's subnet (ctl ipam blocks), and
               detach frees it
  --mac        default: a stable locally administered MAC
  --interface  the interface name inside the namespace (default eth0)`,
  options: {
    node: { type: 'string' },
    vni: { type: 'string' },
    netns: { type: 'string' },
    ip: { type: 'string' },
    mac: { type: 'string' },
    interface: { type: 'string' },
  },
  async run(ctx, values, positionals) {
    noPositionals(positionals);
    const request = {
      node: checkNodeName('node', required(values, 'node')),
      vni: checkVniId(required(values, 'vni'), 'vni'),
      netns: checkNetnsName('netns', required(values, 'netns')),
      ip: values.ip === undefined ? '' : (values.ip as string),
      mac: values.mac === undefined ? '' : checkUnicastMac('mac', values.mac as string),
      interface: values.interface === undefined ? '' : checkInterfaceName('interface', values.interface as string),
    };
    // What an address alone tells; the server also knows the VNI's subnet and the hosts' VTEPs.
    if (request.ip !== '') checkEndpointIp('ip', request.ip);
    const c = await client(ctx);
    // Creating devices in a namespace on a remote host takes a moment longer than a plain RPC.
    const e = await unaryCall<Endpoint__Output>(
      (o, cb) => c.attachEndpoint(request, o, cb),
      Math.max(ctx.timeoutMs, 20_000),
    );
    const v = endpointView(e);
    printAnswer(ctx, {
      data: v,
      names: [`${endpointResource.kind}/${endpointResource.name(v)}`],
      text: () => `attached ${v.netns}/${v.interface} on ${v.node} to VNI ${v.vni}: ${v.mac} ${v.ips.join(', ')}\n`,
    });
  },
};

const detach: Command = {
  name: 'detach',
  summary: 'remove an attached endpoint (its veth) and withdraw it everywhere',
  usage: 'ctl endpoint detach --node NODE --vni VNI --netns NS [--interface NAME]',
  options: {
    node: { type: 'string' },
    vni: { type: 'string' },
    netns: { type: 'string' },
    interface: { type: 'string' },
  },
  async run(ctx, values, positionals) {
    noPositionals(positionals);
    const request = {
      node: checkNodeName('node', required(values, 'node')),
      vni: checkVniId(required(values, 'vni'), 'vni'),
      netns: checkNetnsName('netns', required(values, 'netns')),
      interface: values.interface === undefined ? '' : checkInterfaceName('interface', values.interface as string),
    };
    const c = await client(ctx);
    await unaryCall((o, cb) => c.detachEndpoint(request, o, cb), Math.max(ctx.timeoutMs, 20_000));
    const detached = { ...request, interface: request.interface || 'eth0' };
    printAnswer(ctx, {
      data: { detached },
      text: () => `detached ${detached.netns}/${detached.interface} from VNI ${detached.vni} on ${detached.node}\n`,
    });
  },
};

const list: Command = {
  name: 'list',
  summary: 'list endpoints every host announces (learned and attached)',
  usage: 'ctl endpoint list [--vni VNI] [--node NODE] [--mac MAC]',
  options: { vni: { type: 'string' }, node: { type: 'string' }, mac: { type: 'string' } },
  async run(ctx, values, positionals) {
    noPositionals(positionals);
    const c = await client(ctx);
    const filter = filterFrom(values);
    const all = await allPages<Endpoint__Output>(async (pageToken) => {
      const res = await unaryCall<ListEndpointsResponse__Output>(
        (o, cb) => c.listEndpoints({ filter, pageToken }, o, cb),
        ctx.timeoutMs,
      );
      return { items: res.endpoints, next: res.nextPageToken };
    });
    printList(ctx, endpointResource, all.map(endpointView));
  },
};

export const endpointGroup: Group = {
  name: 'endpoint',
  summary: 'endpoints: attach, detach, list',
  commands: [attach, detach, list],
};
