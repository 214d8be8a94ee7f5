import * as path from 'node:path';
import type { Logger } from '../../common/log';
import type { AgentState } from '../agent-state';
import { AllocationStore } from './allocation-store';
import { BlockAllocator } from './block-allocator';
import type { BlockClaims } from './block-client';

// The agent's address management: allocations in DATA/ipam.json, subnets from the VNI configuration
// the agent follows, blocks claimed from the server.
export function openAgentIpam(state: AgentState, claims: BlockClaims, log: Logger): BlockAllocator {
  return new BlockAllocator({
    store: AllocationStore.open(path.join(state.dir, 'ipam.json')),
    claims,
    subnetOf: (vni) => state.vnis.find((v) => v.id === vni)?.subnet,
    log: log.child({ part: 'ipam' }),
  });
}
