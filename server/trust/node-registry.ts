import * as grpc from '@grpc/grpc-js';
import { RpcError } from '../grpc-errors';
import { SerialQueue } from '../../common/serial-queue';
import type { KnownVtep } from '../../common/validation';
import { untilCommitted, type DurableKv, type KvEntry, type KvFollower, type KvGuard, type KvOp } from '../durable-kv';

export interface EnrolledNode {
  name: string;
  vteps: string[];
  fingerprint: string;
  notAfterMs: number;
}

const PREFIX = 'nodes/';
const nodeKey = (name: string) => `${PREFIX}${name}`;

// What else must be written with a node's record, atomically (a join token spent), and what must
// hold for it (the token unchanged since it was checked). Planned afresh at every attempt.
export interface Prerequisite {
  ops: KvOp[];
  guards: KvGuard[];
}

// Which node names and VTEPs are taken, durable in the store: a join token lets a host enrol under a
// name nobody holds, never take over an enrolled node's name or VTEP (unless the token was made for
// that very node, to re-enrol a host that lost its data dir). All nodes are held in memory, which
// follows the store: this server's writes and, with etcd, other replicas'.
export class NodeRegistry {
  private nodes = new Map<string, { node: EnrolledNode; version: string }>();
  private follower: KvFollower | undefined;
  private readonly writes = new SerialQueue();

  private constructor(private readonly kv: DurableKv) {}

  static async open(kv: DurableKv): Promise<NodeRegistry> {
    const registry = new NodeRegistry(kv);
    registry.follower = await kv.follow(PREFIX, {
      reset: (entries) => (registry.nodes = new Map(entries.map((e) => [nodeOf(e).name, stored(e)]))),
      change: (key, entry) => {
        if (entry) registry.nodes.set(key.slice(PREFIX.length), stored(entry));
        else registry.nodes.delete(key.slice(PREFIX.length));
      },
    });
    return registry;
  }

  close(): Promise<void> {
    return this.follower?.close() ?? Promise.resolve();
  }

  get(name: string): EnrolledNode | undefined {
    return this.nodes.get(name)?.node;
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  // Every enrolled node's VTEPs, expired certificates included: the host still holds the address.
  vteps(): KnownVtep[] {
    return [...this.nodes.values()].flatMap(({ node }) => node.vteps.map((vtep) => ({ node: node.name, vtep })));
  }

  checkFree(name: string, vteps: string[], replacing: boolean, nowMs = Date.now()): void {
    const current = this.get(name);
    if (current && current.notAfterMs > nowMs && !replacing)
      throw new RpcError(
        grpc.status.ALREADY_EXISTS,
        `node ${name} is enrolled already: re-enrol it with a token made by ctl token create --node ${name}, or revoke it first`,
      );
    for (const { node: other } of this.nodes.values()) {
      if (other.name === name || other.notAfterMs <= nowMs) continue;
      const taken = vteps.find((v) => other.vteps.includes(v));
      if (taken) throw new RpcError(grpc.status.ALREADY_EXISTS, `VTEP ${taken} belongs to node ${other.name}`);
    }
  }

  // Records the node (replacing what the name held as this replica last saw it), together with what
  // `prerequisite` plans: it runs before every attempt, checks (throwing a refusal: the name and VTEPs
  // against every node, the token), and is re-run after another replica changed what it checked.
  // This replica's changes go one at a time, so they never make each other re-check.
  record(node: EnrolledNode, prerequisite?: () => Promise<Prerequisite>): Promise<void> {
    return this.writes.run(() =>
      untilCommitted(
        `node ${node.name}'s enrolment`,
        async () => {
          // Taken before the prerequisite checks against memory: a change to memory meanwhile (an
          // enrolment on another replica) fails the write, which then checks again.
          const registry = prerequisite ? [this.follower!.unchanged()] : [];
          const extra = (await prerequisite?.()) ?? { ops: [], guards: [] };
          return this.kv.write(
            [...extra.ops, { type: 'put', key: nodeKey(node.name), value: JSON.stringify(node) }],
            [...extra.guards, ...registry, { key: nodeKey(node.name), version: this.nodes.get(node.name)?.version }],
          );
        },
        () => this.follower!.resync(),
      ),
    );
  }

  remove(name: string): Promise<void> {
    return this.writes.run(() =>
      untilCommitted(
        `node ${name}'s removal`,
        async () => {
          const current = this.nodes.get(name);
          if (!current) return true;
          return this.kv.write(
            [{ type: 'del', key: nodeKey(name) }],
            [{ key: nodeKey(name), version: current.version }],
          );
        },
        () => this.follower!.resync(),
      ),
    );
  }
}

const nodeOf = (entry: KvEntry) => JSON.parse(entry.value) as EnrolledNode;
const stored = (entry: KvEntry) => ({ node: nodeOf(entry), version: entry.version });
