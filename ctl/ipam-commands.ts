import type { IpamServiceClient } from '../generated/vxgossip/v1/IpamService';
import type { ListBlocksResponse__Output } from '../generated/vxgossip/v1/ListBlocksResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { checkNodeName, checkVniId } from '../common/validation';
import type { Command, Context, Group } from './command';
import { noPositionals } from './endpoint-commands';
import { printList } from './print';
import { blockResource, blockView } from './views/ipam-block';

function client(ctx: Context): Promise<IpamServiceClient> {
  return ctx.servers.client(v1().IpamService);
}

const blocks: Command = {
  name: 'blocks',
  summary: 'address blocks of VNI subnets and the host holding each',
  usage: 'ctl ipam blocks [--vni VNI] [--node NODE]',
  details: `  Hosts allocate endpoint addresses (attach without --ip) from blocks of the VNI's subnet that the
  server gives each host alone: /26 (IPv4) or /122 (IPv6), or the whole subnet when it is smaller.`,
  options: { vni: { type: 'string' }, node: { type: 'string' } },
  async run(ctx, values, positionals) {
    noPositionals(positionals);
    const request = {
      vni: values.vni === undefined ? 0 : checkVniId(values.vni, 'vni'),
      node: values.node === undefined ? '' : checkNodeName('node', values.node as string),
    };
    const c = await client(ctx);
    const res = await unaryCall<ListBlocksResponse__Output>((o, cb) => c.listBlocks(request, o, cb), ctx.timeoutMs);
    printList(ctx, blockResource, res.blocks.map(blockView));
  },
};

export const ipamGroup: Group = {
  name: 'ipam',
  summary: 'address management: the blocks hosts hold',
  commands: [blocks],
};
