import type { Level } from 'level';
import * as grpc from '@grpc/grpc-js';
import { RpcError } from '../grpc-errors';
import type { KnownVtep } from '../../common/validation';

export interface EnrolledNode {
  name: string;
  vteps: string[];
  fingerprint: string;
  notAfterMs: number;
}

const dbKey = (name: string) => `enrolled/${name}`;

// Which node names and VTEPs are taken, durable in level: a join token lets a host enrol under a
// name nobody holds, never take over an enrolled node's name or VTEP (unless the token was made for
// that very node, to re-enrol a host that lost its data dir).
export class NodeRegistry {
  private readonly nodes = new Map<string, EnrolledNode>();

  private constructor(private readonly db: Level<string, string>) {}

  static async open(db: Level<string, string>): Promise<NodeRegistry> {
    const registry = new NodeRegistry(db);
    for await (const value of db.values({ gt: 'enrolled/', lt: 'enrolled/\xff' })) {
      const node = JSON.parse(value) as EnrolledNode;
      registry.nodes.set(node.name, node);
    }
    return registry;
  }

  get(name: string): EnrolledNode | undefined {
    return this.nodes.get(name);
  }

  // Every enrolled node's VTEPs, expired certificates included: the host still holds the address.
  vteps(): KnownVtep[] {
    return [...this.nodes.values()].flatMap((n) => n.vteps.map((vtep) => ({ node: n.name, vtep })));
  }

  checkFree(name: string, vteps: string[], replacing: boolean, nowMs = Date.now()): void {
    const current = this.nodes.get(name);
    if (current && current.notAfterMs > nowMs && !replacing)
      throw new RpcError(
        grpc.status.ALREADY_EXISTS,
        `node ${name} is enrolled already: re-enrol it with a token made by ctl token create --node ${name}, or revoke it first`,
      );
    for (const other of this.nodes.values()) {
      if (other.name === name || other.notAfterMs <= nowMs) continue;
      const taken = vteps.find((v) => other.vteps.includes(v));
      if (taken) throw new RpcError(grpc.status.ALREADY_EXISTS, `VTEP ${taken} belongs to node ${other.name}`);
    }
  }

  async record(node: EnrolledNode): Promise<void> {
    await this.db.put(dbKey(node.name), JSON.stringify(node), { sync: true });
    this.nodes.set(node.name, node);
  }

  async remove(name: string): Promise<void> {
    await this.db.del(dbKey(name), { sync: true });
    this.nodes.delete(name);
  }
}
