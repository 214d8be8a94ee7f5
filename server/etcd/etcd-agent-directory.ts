import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3, IKeyValue, IWatchResponse, Lease } from 'etcd3';
import type { Logger } from '../../common/log';
import { v1 } from '../../common/proto';
import type { Command } from '../../generated/vxgossip/v1/Command';
import type { CommandResult__Output } from '../../generated/vxgossip/v1/CommandResult';
import { RpcError } from '../grpc-errors';
import { SerialQueue } from '../../common/serial-queue';
import type { AgentDirectory, CommandRunner, PublishedSession, RemoteSession } from '../agent-directory';
import { PrefixFollower } from './prefix-follower';
import { unavailableOnFailure } from './etcd-errors';

// A replica's keys live on its lease: killed, its agents, commands and answers go within this time,
// and the agents it held show as disconnected until they reconnect to another replica.
const LEASE_TTL_S = 10;
// An agent's status changes in bursts (one report per VNI as it programs): published at most this often.
const PUBLISH_DELAY_MS = 50;
// Commands and answers are encoded as the agent stream encodes them; a command is a few KB.
const MAX_MESSAGE_BYTES = 1024 * 1024;

interface Pending {
  resolve: (result: CommandResult__Output) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface Envelope {
  node: string;
  from: string;
  id: string;
  // Base64 of the message as the agent stream encodes it.
  message: string;
}

interface Answer {
  message?: string;
  error?: { code: number; message: string };
}

const agentStream = () => v1().AgentService.service.Connect;

// Replicas share through etcd which agents each one holds (`agents/<node>/<replica>`), and carry
// commands (`commands/<replica>/...`) and their answers (`answers/<replica>/...`) to each other, every
// key on the writing replica's lease. Nothing goes between replicas but etcd, so they need neither
// each other's addresses nor credentials for each other.
export class EtcdAgentDirectory
  extends EventEmitter<{ following: [problem: string | undefined] }>
  implements AgentDirectory
{
  readonly replica = `${os.hostname()}-${randomUUID().slice(0, 8)}`;
  private readonly sessions = new Map<string, Map<string, RemoteSession>>();
  private readonly local = new Map<string, PublishedSession>();
  private readonly dirty = new Set<string>();
  private publishTimer: NodeJS.Timeout | undefined;
  private readonly writes = new SerialQueue();
  private readonly pending = new Map<string, Pending>();
  private readonly changeListeners: Array<(node: string) => void> = [];
  private runner: CommandRunner | undefined;
  private followers: PrefixFollower[] = [];
  private lease!: Lease;
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly root: string,
    private readonly log?: Logger,
  ) {
    super();
  }

  static async open(etcd: Etcd3, prefix: string, log?: Logger): Promise<EtcdAgentDirectory> {
    const directory = new EtcdAgentDirectory(etcd, prefix, log);
    await unavailableOnFailure('join the other server replicas in etcd', async () => {
      await directory.newLease();
      directory.followers = await Promise.all([
        PrefixFollower.start(etcd, `${prefix}agents/`, 'the agents other replicas hold', directory.agentsFeed(), log),
        PrefixFollower.start(
          etcd,
          directory.inbox('commands'),
          'commands for this replica',
          directory.commandsFeed(),
          log,
        ),
        PrefixFollower.start(etcd, directory.inbox('answers'), 'answers to this replica', directory.answersFeed(), log),
      ]);
    });
    return directory;
  }

  get following(): PrefixFollower[] {
    return this.followers;
  }

  private inbox(kind: 'commands' | 'answers', replica = this.replica): string {
    return `${this.root}${kind}/${replica}/`;
  }

  // A lost lease (cut off from etcd for longer than its TTL) took this replica's keys with it: a new
  // one is granted and every agent held is published again.
  private async newLease(): Promise<void> {
    const lease = this.etcd.lease(LEASE_TTL_S);
    await lease.grant();
    this.lease = lease;
    lease.on('lost', (err) => {
      if (this.closed) return;
      this.emit('following', `this replica's lease in etcd was lost (${err.message}); renewing it`);
      void this.renewLease();
    });
  }

  private async renewLease(): Promise<void> {
    for (let wait = 200; !this.closed; wait = Math.min(wait * 2, 5_000)) {
      try {
        await this.newLease();
        for (const node of this.local.keys()) this.dirty.add(node);
        await this.flush();
        this.emit('following', undefined);
        return;
      } catch (err) {
        this.log?.warn('cannot renew the replica lease in etcd: retrying', { error: (err as Error).message });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  publish(node: string, session: PublishedSession | undefined): void {
    if (session) this.local.set(node, session);
    else this.local.delete(node);
    this.dirty.add(node);
    this.publishTimer ??= setTimeout(() => void this.flush(), PUBLISH_DELAY_MS);
  }

  private flush(): Promise<void> {
    this.publishTimer = undefined;
    const nodes = [...this.dirty];
    this.dirty.clear();
    return this.writes.run(async () => {
      for (const node of nodes) {
        const key = `${this.root}agents/${node}/${this.replica}`;
        const session = this.local.get(node);
        try {
          if (session) await this.lease.put(key).value(JSON.stringify(session));
          else await this.etcd.delete().key(key);
        } catch (err) {
          // Published again once etcd answers: the lease is lost by then, or the next change retries.
          this.dirty.add(node);
          this.log?.warn('cannot publish an agent to the other replicas', { node, error: (err as Error).message });
        }
      }
      if (this.dirty.size > 0 && !this.closed) this.publishTimer ??= setTimeout(() => void this.flush(), 1_000);
    });
  }

  remote(): Map<string, RemoteSession> {
    const newest = new Map<string, RemoteSession>();
    for (const [node, byReplica] of this.sessions)
      for (const s of byReplica.values())
        if (!newest.has(node) || newest.get(node)!.connectedSinceMs < s.connectedSinceMs) newest.set(node, s);
    return newest;
  }

  onChange(listener: (node: string) => void): void {
    this.changeListeners.push(listener);
  }

  private agentsFeed() {
    const apply = (kv: IKeyValue, deleted: boolean) => {
      const [node, replica] = kv.key.toString().slice(`${this.root}agents/`.length).split('/');
      if (replica === this.replica || !node || !replica) return undefined;
      let byReplica = this.sessions.get(node);
      if (deleted) byReplica?.delete(replica);
      else {
        if (!byReplica) this.sessions.set(node, (byReplica = new Map<string, RemoteSession>()));
        byReplica.set(replica, { ...(JSON.parse(kv.value.toString()) as PublishedSession), replica });
      }
      if (byReplica?.size === 0) this.sessions.delete(node);
      return node;
    };
    return {
      snapshot: (kvs: IKeyValue[]) => {
        const before = [...this.sessions.keys()];
        this.sessions.clear();
        const touched = new Set([...before, ...kvs.map((kv) => apply(kv, false))]);
        for (const node of touched) if (node) this.changed(node);
      },
      changes: (response: IWatchResponse) => {
        for (const event of response.events) {
          const node = apply(event.kv, event.type === 'Delete');
          if (node) this.changed(node);
        }
      },
    };
  }

  private changed(node: string): void {
    for (const listener of this.changeListeners) listener(node);
  }

  send(node: string, command: Omit<Command, 'id'>, timeoutMs: number): Promise<CommandResult__Output> {
    const holder = this.remote().get(node);
    if (!holder)
      return Promise.reject(new RpcError(grpc.status.UNAVAILABLE, `agent ${node} is not connected to any replica`));
    const id = String(this.nextId++);
    const message = agentStream().responseSerialize({ command: { ...command, id } });
    const envelope: Envelope = { node, from: this.replica, id, message: message.toString('base64') };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new RpcError(
            grpc.status.DEADLINE_EXCEEDED,
            `agent ${node} (connected to replica ${holder.replica}) did not answer within ${timeoutMs / 1000} s`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.lease
        .put(`${this.inbox('commands', holder.replica)}${this.replica}/${id}`)
        .value(JSON.stringify(envelope))
        .catch((err: Error) => {
          clearTimeout(timer);
          this.pending.delete(id);
          reject(
            new RpcError(
              grpc.status.UNAVAILABLE,
              `cannot pass the command to replica ${holder.replica} through etcd (${err.message}); retry`,
            ),
          );
        });
    });
  }

  serve(run: CommandRunner): void {
    this.runner = run;
  }

  // Commands and answers left from before a snapshot are dropped: their senders have given up on them.
  private dropAll(kvs: IKeyValue[]): void {
    for (const kv of kvs)
      void this.etcd
        .delete()
        .key(kv.key.toString())
        .catch(() => undefined);
  }

  private commandsFeed() {
    return {
      snapshot: (kvs: IKeyValue[]) => this.dropAll(kvs),
      changes: (response: IWatchResponse) => {
        for (const event of response.events) if (event.type === 'Put') void this.carryOut(event.kv);
      },
    };
  }

  private async carryOut(kv: IKeyValue): Promise<void> {
    await this.etcd
      .delete()
      .key(kv.key.toString())
      .catch(() => undefined);
    let envelope: Envelope;
    try {
      if (kv.value.length > MAX_MESSAGE_BYTES) throw new Error(`${kv.value.length} bytes`);
      envelope = JSON.parse(kv.value.toString()) as Envelope;
    } catch (err) {
      this.log?.warn('dropped a malformed command from another replica', { error: (err as Error).message });
      return;
    }
    let answer: Answer;
    try {
      const { command } = agentStream().responseDeserialize(Buffer.from(envelope.message, 'base64'));
      if (!command || !this.runner) throw new RpcError(grpc.status.INTERNAL, 'no command in the message');
      const { id: _, ...rest } = command;
      const result = await this.runner(envelope.node, rest);
      answer = { message: agentStream().requestSerialize({ commandResult: result }).toString('base64') };
    } catch (err) {
      const code = err instanceof RpcError ? err.code : grpc.status.INTERNAL;
      answer = { error: { code, message: (err as Error).message } };
    }
    await this.lease
      .put(`${this.inbox('answers', envelope.from)}${envelope.id}`)
      .value(JSON.stringify(answer))
      .catch((err: Error) => this.log?.warn('cannot answer another replica', { error: err.message }));
  }

  private answersFeed() {
    return {
      snapshot: (kvs: IKeyValue[]) => this.dropAll(kvs),
      changes: (response: IWatchResponse) => {
        for (const event of response.events) if (event.type === 'Put') this.answered(event.kv);
      },
    };
  }

  private answered(kv: IKeyValue): void {
    const key = kv.key.toString();
    void this.etcd
      .delete()
      .key(key)
      .catch(() => undefined);
    const pending = this.pending.get(key.slice(this.inbox('answers').length));
    if (!pending) return;
    this.pending.delete(key.slice(this.inbox('answers').length));
    clearTimeout(pending.timer);
    try {
      const answer = JSON.parse(kv.value.toString()) as Answer;
      if (answer.error) return pending.reject(new RpcError(answer.error.code, answer.error.message));
      const { commandResult } = agentStream().requestDeserialize(Buffer.from(answer.message ?? '', 'base64'));
      if (!commandResult) throw new Error('no result in the answer');
      pending.resolve(commandResult);
    } catch (err) {
      pending.reject(
        new RpcError(grpc.status.INTERNAL, `malformed answer from another replica: ${(err as Error).message}`),
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.publishTimer);
    await Promise.all(this.followers.map((f) => f.stop()));
    await this.lease.revoke().catch(() => undefined);
  }
}
