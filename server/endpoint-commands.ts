import * as grpc from '@grpc/grpc-js';
import type { EndpointServiceHandlers } from '../generated/vxgossip/v1/EndpointService';
import type { CommandResult__Output } from '../generated/vxgossip/v1/CommandResult';
import type { Logger } from '../common/log';
import { checkNotGateway } from '../common/l3-subnet';
import { HOST_FDB_PAGE_MAX, checkHostFdbPaging } from '../common/host-fdb-request';
import { announcedElsewhere } from '../common/fdb-state/winner-rule';
import {
  KnownVtep,
  checkEndpointIp,
  checkInterfaceName,
  checkNetnsName,
  checkNodeName,
  checkUnicastMac,
  checkVniId,
} from '../common/validation';
import type { AgentHub } from './agent-hub';
import { RpcError } from './grpc-errors';
import { unary } from './rpc';
import { NotFoundError } from './vni-changes';
import type { VniConfigStore } from './vni-config-store';
import type { BlockStore } from './ipam/block-store';
import type { VniConfig } from '../common/vni';

function commandOutcome(node: string, result: CommandResult__Output): CommandResult__Output {
  if (result.error) throw new RpcError(result.code || grpc.status.INTERNAL, `${node}: ${result.error}`);
  return result;
}

// An address in a block another host holds is that host's to hand out: taking it here would collide.
function refuseOthersBlock(blocks: BlockStore, node: string, vni: VniConfig, ip: string): void {
  const block = blocks.holderOf(vni, ip);
  if (block && block.node !== node)
    throw new RpcError(
      grpc.status.FAILED_PRECONDITION,
      `${ip} is in block ${block.cidr} of VNI ${vni.id}, which node ${block.node} holds and hands addresses out of: attach it there, choose an address outside the blocks of other hosts (ctl ipam blocks --vni ${vni.id}), or omit --ip to get one of ${node}'s`,
    );
}

// The endpoint RPCs the server does not answer itself: attach and detach on the owning agent, a
// duplicate's clear on every agent, and what one host's kernel holds (its agent reads it). `holder`: the host the served FDB gives a MAC to.
export function agentRoutedRpcs(
  hub: AgentHub,
  vnis: VniConfigStore,
  log: Logger,
  nodes: { vteps: () => KnownVtep[]; blocks: BlockStore },
  holder: (vni: number, mac: string) => string | undefined,
): Pick<EndpointServiceHandlers, 'AttachEndpoint' | 'DetachEndpoint' | 'ClearDuplicate' | 'GetHostFdb'> {
  return {
    AttachEndpoint: unary(log, 'AttachEndpoint', [[NotFoundError, grpc.status.NOT_FOUND]], async (req) => {
      const node = checkNodeName('node', req.node);
      const vni = checkVniId(req.vni, 'vni');
      const config = vnis.get(vni);
      if (req.ip) {
        checkEndpointIp('ip', req.ip, config.subnet, nodes.vteps());
        if (config.mode === 'l3') checkNotGateway('ip', req.ip, config);
        refuseOthersBlock(nodes.blocks, node, config, req.ip);
      } else if (!config.subnet)
        throw new RpcError(
          grpc.status.FAILED_PRECONDITION,
          `VNI ${vni} has no subnet to allocate an address from: give --ip ADDR/LEN`,
        );
      const mac = req.mac ? checkUnicastMac('mac', req.mac) : undefined;
      if (req.interface) checkInterfaceName('interface', req.interface);
      checkNetnsName('netns', req.netns);
      // The agent checks too, against gossip: the server's view may lag, and so may the agent's.
      const announcer = mac && holder(vni, mac);
      if (announcer && announcer !== node)
        throw new RpcError(grpc.status.ALREADY_EXISTS, announcedElsewhere(vni, mac, announcer));
      const result = commandOutcome(node, await hub.sendCommand(node, { attach: req }));
      log.info('endpoint attached', { node, vni, netns: req.netns, mac: result.endpoint?.mac });
      return result.endpoint!;
    }),
    DetachEndpoint: unary(log, 'DetachEndpoint', [], async (req) => {
      const node = checkNodeName('node', req.node);
      checkVniId(req.vni, 'vni');
      if (req.interface) checkInterfaceName('interface', req.interface);
      checkNetnsName('netns', req.netns);
      commandOutcome(node, await hub.sendCommand(node, { detach: req }));
      log.info('endpoint detached', { node, vni: req.vni, netns: req.netns });
      return {};
    }),
    // Every connected agent is asked: the claimants are the ones that froze it, and a claimant that
    // gossip still lists but that lost its stream is named in errors.
    ClearDuplicate: unary(log, 'ClearDuplicate', [], async (req) => {
      const vni = checkVniId(req.vni, 'vni');
      const mac = checkUnicastMac('mac', req.mac);
      const out = { nodes: [] as string[], errors: {} as Record<string, string> };
      for (const { node, result, error } of await hub.commandEveryAgent({ clearDuplicate: { vni, mac } })) {
        if (result) out.nodes.push(...(result.cleared?.nodes ?? []));
        else out.errors[node] = error!;
      }
      if (out.nodes.length === 0 && Object.keys(out.errors).length === 0)
        throw new RpcError(grpc.status.NOT_FOUND, `no connected agent holds ${mac} in VNI ${vni} frozen`);
      log.info('duplicate cleared', { vni, mac, nodes: out.nodes, failed: Object.keys(out.errors).length });
      return { nodes: out.nodes.sort(), errors: out.errors };
    }),
    // Bounds are checked here too: the agent's answer rides its stream, which a huge page would clog.
    GetHostFdb: unary(log, 'GetHostFdb', [], async (req) => {
      const node = checkNodeName('node', req.node);
      const hostFdb = { node, ...checkHostFdbPaging(req) };
      const result = commandOutcome(node, await hub.sendCommand(node, { hostFdb }));
      if (!result.hostFdb)
        throw new RpcError(
          grpc.status.UNIMPLEMENTED,
          `agent ${node} answered without its kernel's entries: upgrade it`,
        );
      if (result.hostFdb.entries.length > HOST_FDB_PAGE_MAX)
        throw new RpcError(
          grpc.status.INTERNAL,
          `agent ${node} answered ${result.hostFdb.entries.length} entries, over the ${HOST_FDB_PAGE_MAX} of a page`,
        );
      // The host is the one whose stream answered, whatever its answer says.
      return { ...result.hostFdb, node };
    }),
  };
}
