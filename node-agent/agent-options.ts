import type { VtepReachability } from './liveness/host-liveness';
import type { Logger } from '../common/log';
import type { VtepSweepOptions } from './liveness/vtep-sweep';
import type { DatapathOptions } from './bpf';
import type { AgentMetrics } from './agent-metrics';
import type { AgentState } from './agent-state';
import type { KeyringCommands } from './commands/keyring-commands';
import type { GossipCluster, GossipHandlers } from './gossip/cluster';
import type { LinkDriver } from './kernel/link-driver';
import type { Rtnetlink } from './netlink';
import type { DuplicateDetectionOptions } from './state/duplicate-detector';
import type { CniOptions } from './cni/cni-service';
import type { NodeIdentity } from './trust/node-identity';

export interface GossipOptions {
  createCluster(handlers: GossipHandlers): Promise<GossipCluster>;
  join: string[];
}

export interface AgentOptions {
  metrics?: AgentMetrics;
  // ctl keys: the gossip keyring and the file it came from (if any).
  keys?: KeyringCommands;
  // Our key and certificate (the server stream, signing our records) and the CAs peers need.
  identity: NodeIdentity;
  duplicates?: DuplicateDetectionOptions;
  // Records one owner may hold in our store (ours included); DEFAULT_MAX_RECORDS_PER_OWNER if unset.
  maxRecordsPerOwner?: number;
  // How long a dead or departed owner's records are kept; DEFAULT_DEPARTED_RECORD_TTL_MS if unset.
  departedRecordTtlMs?: number;
  // Whether a peer's VTEP answers a probe its kernel answers without an agent.
  reach: VtepReachability;
  // How long a peer whose agent is down keeps its entries while its VTEP answers;
  // DEFAULT_AGENT_DOWN_KEEP_MS if unset.
  agentDownKeepMs?: number;
  // The steady check of peers' VTEPs (see VtepSweep); none if unset.
  sweep?: VtepSweepOptions;
  // The BPF filesystem and our pin directory in it (defaults: /sys/fs/bpf, /sys/fs/bpf/vxgossip).
  bpf?: DatapathOptions;
  // The CNI plugin's socket and the deletions it queued while we were down; off if unset.
  cni?: CniOptions;
  name: string;
  vtep: string;
  // The server's replicas (--server), in the order the agent tries them.
  servers: string[];
  state: AgentState;
  driver: LinkDriver;
  rt: Rtnetlink;
  gossip: GossipOptions;
  log: Logger;
}
