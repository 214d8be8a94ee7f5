import type { Level } from 'level';
import * as grpc from '@grpc/grpc-js';
import { RpcError } from '../grpc-errors';
import type { KnownVtep } from '../../common/validation';
import type { Database } from '../database';

export interface EnrolledNode {
  name: string;
  vteps: string[];
  fingerprint: string;
  notAfterMs: number;
}

const dbKey = (name: string) => `enrolled/${name}`;

// Which node names and VTEPs are taken, durable in level: a join token lets a host enrol under a
// name nobody holds, never take over an enrolled node's name or VTEP (unless the token was made for
// that very node, to re-enrol a host that lost its data dir). Rebuilt from disk whenever the
// database is reopened after a failed write, which may or may not have been kept.
export class NodeRegistry {
  private nodes = new Map<string, EnrolledNode>();

  private constructor(private readonly db: Database) {}

  static async open(db: Database): Promise<NodeRegistry> {
    const registry = new NodeRegistry(db);
    await registry.load(db.level);
    db.onReopen((level) => registry.load(level));
    return registry;
  }

  private async load(level: Level<string, string>): Promise<void> {
    const nodes = new Map<string, EnrolledNode>();
    for await (const value of level.values({ gt: 'enrolled/', lt: 'enrolled/\xff' })) {
      const node = JSON.parse(value) as EnrolledNode;
      nodes.set(node.name, node);
    }
    this.nodes = nodes;
  }

  get(name: string): EnrolledNode | undefined {
    return this.nodes.get(name);
  }

  names(): string[] {
    return [...this.nodes.keys()];
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
    await this.db.write([{ type: 'put', key: dbKey(node.name), value: JSON.stringify(node) }]);
    this.nodes.set(node.name, node);
  }

  async remove(name: string): Promise<void> {
    await this.db.write([{ type: 'del', key: dbKey(name) }]);
    this.nodes.delete(name);
  }
}
