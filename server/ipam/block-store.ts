import * as grpc from '@grpc/grpc-js';
import type { Level } from 'level';
import { SubnetBlocks, blockCidr, blockIndexOf, blockIndexOfCidr, subnetBlocks } from '../../common/ipam-blocks';
import type { Database, WriteOp } from '../database';
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

const PREFIX = 'block/';
// A block index of an IPv6 subnet has up to 39 digits; padded, level's order is numeric order.
const blockKey = (vni: number, index: bigint) => `${PREFIX}${sortKey(vni)}/${index.toString().padStart(39, '0')}`;

// Which host holds which block of each VNI's subnet, durable in level: a claim or a release resolves
// only once it is written with sync, so an acknowledged block is never handed to a second host, also
// across a crash. Blocks are few (hosts × VNIs × a handful), so all are also held in memory, and rebuilt
// from disk whenever the database is reopened.
export class BlockStore {
  // VNI → block index → block.
  private byVni = new Map<number, Map<bigint, HeldBlock>>();
  private readonly writes = new SerialQueue();

  private constructor(
    private readonly db: Database,
    readonly maxPerNode: number,
  ) {}

  static async open(db: Database, maxPerNode = DEFAULT_MAX_BLOCKS_PER_NODE): Promise<BlockStore> {
    const store = new BlockStore(db, maxPerNode);
    await store.load(db.level);
    db.onReopen((level) => store.writes.run(() => store.load(level)));
    return store;
  }

  private async load(level: Level<string, string>): Promise<void> {
    const byVni = new Map<number, Map<bigint, HeldBlock>>();
    for await (const value of level.values({ gt: PREFIX, lt: `${PREFIX}\xff` })) {
      const block = JSON.parse(value) as HeldBlock;
      const index = blockIndexOfCidr(subnetBlocks(block.subnet), block.cidr);
      if (!byVni.has(block.vni)) byVni.set(block.vni, new Map());
      byVni.get(block.vni)!.set(index, block);
    }
    this.byVni = byVni;
  }

  list(filter: { vni?: number; node?: string } = {}): HeldBlock[] {
    const vnis = [...this.byVni.keys()].filter((v) => !filter.vni || v === filter.vni).sort((a, b) => a - b);
    return vnis.flatMap((vni) =>
      [...this.byVni.get(vni)!]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, block]) => block)
        .filter((b) => !filter.node || b.node === filter.node),
    );
  }

  // The block an address of the VNI falls in, if a host holds it.
  holderOf(vni: SubnetVni, ip: string): HeldBlock | undefined {
    if (!vni.subnet) return undefined;
    const index = blockIndexOf(subnetBlocks(vni.subnet), ip);
    return index === undefined ? undefined : this.byVni.get(vni.id)?.get(index);
  }

  // A block for `node` (the name its certificate gives): first one it holds that it does not know of
  // (its agent lost our answer), else the lowest free one.
  claim(node: string, vni: SubnetVni, known: string[]): Promise<HeldBlock> {
    return this.writes.run(async () => {
      const s = this.subnetOf(vni);
      const blocks = this.byVni.get(vni.id) ?? new Map<bigint, HeldBlock>();
      const held = [...blocks.values()].filter((b) => b.node === node);
      const lost = held.find((b) => !known.includes(b.cidr));
      if (lost) return lost;
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
      await this.db.write([{ type: 'put', key: blockKey(vni.id, index), value: JSON.stringify(block) }]);
      blocks.set(index, block);
      this.byVni.set(vni.id, blocks);
      return block;
    });
  }

  // Only the holder gives a block back.
  release(node: string, vni: SubnetVni, cidr: string): Promise<void> {
    return this.writes.run(async () => {
      const index = blockIndexOfCidr(this.subnetOf(vni), cidr, 'cidr');
      const block = this.byVni.get(vni.id)?.get(index);
      if (!block) throw new RpcError(grpc.status.NOT_FOUND, `no host holds block ${cidr} of VNI ${vni.id}`);
      if (block.node !== node)
        throw new RpcError(
          grpc.status.PERMISSION_DENIED,
          `block ${cidr} of VNI ${vni.id} is held by node ${block.node}, not ${node}: a host releases its own blocks only`,
        );
      await this.db.write([{ type: 'del', key: blockKey(vni.id, index) }]);
      this.byVni.get(vni.id)!.delete(index);
    });
  }

  // The blocks of VNIs that no longer exist, or whose subnet is not the one they were cut from, go.
  prune(vnis: SubnetVni[]): Promise<number> {
    return this.writes.run(async () => {
      const subnets = new Map(vnis.map((v) => [v.id, v.subnet]));
      const ops: WriteOp[] = [];
      const gone: Array<[number, bigint]> = [];
      for (const [vni, blocks] of this.byVni)
        for (const [index, block] of blocks)
          if (subnets.get(vni) !== block.subnet) {
            ops.push({ type: 'del', key: blockKey(vni, index) });
            gone.push([vni, index]);
          }
      if (ops.length === 0) return 0;
      await this.db.write(ops);
      for (const [vni, index] of gone) this.byVni.get(vni)?.delete(index);
      for (const [vni, blocks] of this.byVni) if (blocks.size === 0) this.byVni.delete(vni);
      return ops.length;
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
