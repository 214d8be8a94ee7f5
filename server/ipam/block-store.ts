import * as grpc from '@grpc/grpc-js';
import { SubnetBlocks, blockCidr, blockIndexOf, blockIndexOfCidr, subnetBlocks } from '../../common/ipam-blocks';
import {
  configUnchanged,
  untilCommitted,
  type DurableKv,
  type KvEntry,
  type KvFollower,
  type KvGuard,
  type KvOp,
} from '../durable-kv';
import { RpcError } from '../grpc-errors';
import { sortKey } from '../pagination';
import { SerialQueue } from '../../common/serial-queue';

// 32 blocks of 64: 2,048 addresses per host and VNI, beyond Kubernetes' 110 pods per node by far.
export const DEFAULT_MAX_BLOCKS_PER_NODE = 32;

export interface HeldBlock {
  vni: number;
  cidr: string;
  node: string;
  subnet: string;
  claimTimeMs: number;
}

export interface SubnetVni {
  id: number;
  subnet: string;
}

const PREFIX = 'blocks/';
// A block index of an IPv6 subnet has up to 39 digits; padded, level's order is numeric order.
const blockKey = (vni: number, index: bigint) => `${PREFIX}${sortKey(vni)}/${index.toString().padStart(39, '0')}`;

const parsed = (entry: KvEntry) => {
  const block = JSON.parse(entry.value) as HeldBlock;
  return { block, index: blockIndexOfCidr(subnetBlocks(block.subnet), block.cidr), version: entry.version };
};

// Which host holds which block of each VNI's subnet, durable in the store: a claim is written only if
// nobody holds the block yet (also on another server replica) and resolves once durable, so an
// acknowledged block is never handed to a second host, also across a crash. Blocks are few (hosts ×
// VNIs × a handful), so all are also held in memory, which follows the store: this server's writes
// and, with etcd, other replicas'.
export class BlockStore {
  // VNI → block index → block, and the version its guard compares.
  private byVni = new Map<number, Map<bigint, { block: HeldBlock; version: string }>>();
  private readonly writes = new SerialQueue();
  private follower: KvFollower | undefined;

  private constructor(
    private readonly kv: DurableKv,
    readonly maxPerNode: number,
  ) {}

  static async open(kv: DurableKv, maxPerNode = DEFAULT_MAX_BLOCKS_PER_NODE): Promise<BlockStore> {
    const store = new BlockStore(kv, maxPerNode);
    store.follower = await kv.follow(PREFIX, {
      reset: (entries) => {
        store.byVni = new Map();
        for (const entry of entries) store.keep(entry);
      },
      change: (key, entry) => {
        if (entry) store.keep(entry);
        else store.forget(key);
      },
    });
    return store;
  }

  close(): Promise<void> {
    return this.follower?.close() ?? Promise.resolve();
  }

  private keep(entry: KvEntry): void {
    const { block, index, version } = parsed(entry);
    if (!this.byVni.has(block.vni)) this.byVni.set(block.vni, new Map());
    this.byVni.get(block.vni)!.set(index, { block, version });
  }

  private forget(key: string): void {
    const [vni, index] = key.slice(PREFIX.length).split('/');
    const blocks = this.byVni.get(Number(vni));
    blocks?.delete(BigInt(index));
    if (blocks?.size === 0) this.byVni.delete(Number(vni));
  }

  // Commits what `plan` makes of memory, planning again after another replica changed it.
  private change<T>(what: string, plan: () => { ops: KvOp[]; guards: KvGuard[]; answer: T }): Promise<T> {
    return this.writes.run(async () => {
      let answer: T | undefined;
      await untilCommitted(
        what,
        async () => {
          const planned = plan();
          answer = planned.answer;
          return planned.ops.length === 0 || this.kv.write(planned.ops, planned.guards);
        },
        () => this.follower!.resync(),
      );
      return answer as T;
    });
  }

  list(filter: { vni?: number; node?: string } = {}): HeldBlock[] {
    const vnis = [...this.byVni.keys()].filter((v) => !filter.vni || v === filter.vni).sort((a, b) => a - b);
    return vnis.flatMap((vni) =>
      [...this.byVni.get(vni)!]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, { block }]) => block)
        .filter((b) => !filter.node || b.node === filter.node),
    );
  }

  // The block an address of the VNI falls in, if a host holds it.
  holderOf(vni: SubnetVni, ip: string): HeldBlock | undefined {
    if (!vni.subnet) return undefined;
    const index = blockIndexOf(subnetBlocks(vni.subnet), ip);
    return index === undefined ? undefined : this.byVni.get(vni.id)?.get(index)?.block;
  }

  // A block for `node` (the name its certificate gives): first one it holds that it does not know of
  // (its agent lost our answer), else the lowest free one, claimed only if still nobody's and if the
  // configuration is still at `configRevision`, the one `vni` was read at (its subnet may have changed).
  claim(node: string, vni: SubnetVni, known: string[], configRevision: number): Promise<HeldBlock> {
    return this.change(`a block of VNI ${vni.id}`, () => {
      const s = this.subnetOf(vni);
      const blocks = this.byVni.get(vni.id) ?? new Map<bigint, unknown>();
      const held = this.list({ vni: vni.id, node });
      const lost = held.find((b) => !known.includes(b.cidr));
      if (lost) return { ops: [], guards: [], answer: lost };
      if (held.length >= this.maxPerNode)
        throw new RpcError(
          grpc.status.RESOURCE_EXHAUSTED,
          `node ${node} holds ${held.length} blocks of VNI ${vni.id}, the most one host may: free addresses on it (detach endpoints) first`,
        );
      let index = 0n;
      while (blocks.has(index)) index++;
      if (index >= s.count)
        throw new RpcError(
          grpc.status.RESOURCE_EXHAUSTED,
          `the subnet ${vni.subnet} of VNI ${vni.id} is exhausted: all ${s.count} blocks of /${s.blockPrefix} are held by hosts; free addresses on them, or use a VNI with a larger subnet`,
        );
      const block: HeldBlock = {
        vni: vni.id,
        cidr: blockCidr(s, index),
        node,
        subnet: vni.subnet,
        claimTimeMs: Date.now(),
      };
      const key = blockKey(vni.id, index);
      return {
        ops: [{ type: 'put', key, value: JSON.stringify(block) }],
        guards: [{ key, version: undefined }, configUnchanged(configRevision)],
        answer: block,
      };
    });
  }

  // Only the holder gives a block back.
  release(node: string, vni: SubnetVni, cidr: string): Promise<void> {
    return this.change(`block ${cidr} of VNI ${vni.id}`, () => {
      const index = blockIndexOfCidr(this.subnetOf(vni), cidr, 'cidr');
      const held = this.byVni.get(vni.id)?.get(index);
      if (!held) throw new RpcError(grpc.status.NOT_FOUND, `no host holds block ${cidr} of VNI ${vni.id}`);
      if (held.block.node !== node)
        throw new RpcError(
          grpc.status.PERMISSION_DENIED,
          `block ${cidr} of VNI ${vni.id} is held by node ${held.block.node}, not ${node}: a host releases its own blocks only`,
        );
      const key = blockKey(vni.id, index);
      return { ops: [{ type: 'del', key }], guards: [{ key, version: held.version }], answer: undefined };
    });
  }

  // The blocks of VNIs that no longer exist, or whose subnet is not the one they were cut from, go:
  // `vnis` is the configuration at `configRevision`, and nothing goes if it has moved on since (a block
  // claimed on another replica for a VNI this one has not heard of yet stays).
  prune(vnis: SubnetVni[], configRevision: number): Promise<number> {
    return this.change('the blocks of deleted VNIs', () => {
      const subnets = new Map(vnis.map((v) => [v.id, v.subnet]));
      const ops: KvOp[] = [];
      const guards: KvGuard[] = [];
      for (const [vni, blocks] of this.byVni)
        for (const [index, { block, version }] of blocks)
          if (subnets.get(vni) !== block.subnet) {
            ops.push({ type: 'del', key: blockKey(vni, index) });
            guards.push({ key: blockKey(vni, index), version });
          }
      return { ops, guards: [...guards, configUnchanged(configRevision)], answer: ops.length };
    });
  }

  private subnetOf(vni: SubnetVni): SubnetBlocks {
    if (!vni.subnet)
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `VNI ${vni.id} has no subnet to hand out addresses from: give the VNI a subnet (ctl vni create --subnet)`,
      );
    return subnetBlocks(vni.subnet);
  }
}
