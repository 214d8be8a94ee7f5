import * as grpc from '@grpc/grpc-js';
import type { IpamServiceHandlers } from '../../generated/vxgossip/v1/IpamService';
import type { Block } from '../../generated/vxgossip/v1/Block';
import type { Logger } from '../../common/log';
import { ValidationError, checkNodeName, checkVniId, shown } from '../../common/validation';
import { RpcError } from '../grpc-errors';
import { unary } from '../rpc';
import { AuthError, Authorizer } from '../trust/authorization';
import { NotFoundError } from '../vni-changes';
import type { VniConfigStore } from '../vni-config-store';
import type { BlockStore, HeldBlock } from './block-store';

// Longer than any IPv6 CIDR (45 characters with its prefix length).
const MAX_CIDR_LENGTH = 64;

const toProto = (b: HeldBlock): Block => ({
  vni: b.vni,
  cidr: b.cidr,
  node: b.node,
  subnet: b.subnet,
  claimTimeMs: String(b.claimTimeMs),
});

function checkCidrText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_CIDR_LENGTH)
    throw new ValidationError(field, `${shown(String(value))} is not a block, e.g. 10.42.0.64/26`);
  return value;
}

// Blocks of VNI subnets for the hosts (see ipam_service.proto for why unary calls): a node claims and
// releases for itself, named by its certificate alone; operators list.
export function ipamService(
  blocks: BlockStore,
  vnis: VniConfigStore,
  authorizer: Authorizer,
  log: Logger,
): IpamServiceHandlers {
  const mapping: Array<[typeof NotFoundError, grpc.status]> = [[NotFoundError, grpc.status.NOT_FOUND]];
  // The interceptor let only a node certificate through; the node is the name in it.
  const nodeOf = (call: Parameters<Authorizer['requireNode']>[0]) => {
    try {
      return authorizer.requireNode(call).name;
    } catch (err) {
      if (err instanceof AuthError) throw new RpcError(err.code, err.message);
      throw err;
    }
  };
  return {
    ClaimBlock: (call, callback) =>
      unary(log, 'ClaimBlock', mapping, async (req: typeof call.request) => {
        const node = nodeOf(call);
        const vni = vnis.get(checkVniId(req.vni, 'vni'));
        const configRevision = vnis.currentRevision();
        if (req.known.length > blocks.maxPerNode)
          throw new ValidationError(
            'known',
            `lists ${req.known.length} blocks; a host holds at most ${blocks.maxPerNode}`,
          );
        const known = req.known.map((k) => checkCidrText('known', k));
        const block = await blocks.claim(node, vni, known, configRevision);
        log.info('block claimed', { node, vni: vni.id, block: block.cidr });
        return toProto(block);
      })(call, callback),
    ReleaseBlock: (call, callback) =>
      unary(log, 'ReleaseBlock', mapping, async (req: typeof call.request) => {
        const node = nodeOf(call);
        const vni = vnis.get(checkVniId(req.vni, 'vni'));
        const cidr = checkCidrText('cidr', req.cidr);
        await blocks.release(node, vni, cidr);
        log.info('block released', { node, vni: vni.id, block: cidr });
        return {};
      })(call, callback),
    ListBlocks: unary(log, 'ListBlocks', mapping, (req) => {
      const vni = req.vni === 0 ? undefined : checkVniId(req.vni, 'vni');
      const node = req.node === '' ? undefined : checkNodeName('node', req.node);
      return { blocks: blocks.list({ vni, node }).map(toProto) };
    }),
  };
}
