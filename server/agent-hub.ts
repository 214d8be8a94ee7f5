import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { AgentMessage__Output } from '../generated/vxgossip/v1/AgentMessage';
import type { ServerMessage } from '../generated/vxgossip/v1/ServerMessage';
import type { Hello__Output } from '../generated/vxgossip/v1/Hello';
import type { ProgrammingStatus__Output } from '../generated/vxgossip/v1/ProgrammingStatus';
import type { Node, Node__Output } from '../generated/vxgossip/v1/Node';
import type { Command } from '../generated/vxgossip/v1/Command';
import type { CommandResult__Output } from '../generated/vxgossip/v1/CommandResult';
import { RpcError } from './grpc-errors';
import { endStream } from './rpc';
import { KnownVtep, checkNodeName } from '../common/validation';
import type { Logger } from '../common/log';
import { vniToProto } from '../common/vni-proto';
import type { VniConfig } from '../common/vni';
import type { Revocation } from '../common/trust/revocations';
import { ConfigSigner, signConfig } from '../common/trust/signed-config';
import type { SignedConfig } from '../generated/vxgossip/v1/SignedConfig';
import type { AgentDirectory, RemoteSession } from './agent-directory';

export type AgentStream = grpc.ServerDuplexStream<AgentMessage__Output, ServerMessage>;

interface AgentSession {
  hello: Hello__Output;
  stream: AgentStream | undefined;
  status: ProgrammingStatus__Output[];
  configRevision: number;
  lastSeenMs: number;
  // The agent's view of every member, as last reported: state (and since when) by name.
  membership: Map<string, Reported>;
  // When its current stream connected.
  connectedSinceMs: number;
}

type SessionView = Pick<AgentSession, 'hello' | 'status' | 'configRevision' | 'lastSeenMs'> & { connected: boolean };

interface Reported {
  state: GossipState;
  sinceMs: number;
}

interface PendingCommand {
  node: string;
  resolve(result: CommandResult__Output): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

// An attach creates devices in a namespace and waits for the record: seconds, not minutes.
const COMMAND_TIMEOUT_MS = 15_000;
// Members in one agent's membership report: far beyond any gossip cluster we run (memberlist's own
// clusters stay in the thousands), small enough that a report is a few MB at most.
export const MAX_MEMBERSHIP = 10_000;
// Characters of a VNI's programming error kept for ctl: a kernel error fits many times over.
export const STATUS_ERROR_MAX = 512;

export type GossipState = Node__Output['state'];

// Which report wins when agents disagree: alive over dead (a partition is not a death), and an agent
// that is down over a host that is gone (some host still reaches it).
const STATE_RANK: Record<GossipState, number> = {
  NODE_STATE_UNSPECIFIED: 0,
  NODE_STATE_LEFT: 1,
  NODE_STATE_DEAD: 2,
  NODE_STATE_AGENT_DOWN: 3,
  NODE_STATE_SUSPECT: 4,
  NODE_STATE_ALIVE: 5,
};

// The agents known to this server, with the stream of each connected one. Pushes the VNI
// configuration to every connected agent whenever it changes.
export class AgentHub extends EventEmitter<{ node: [string] }> {
  private readonly agents = new Map<string, AgentSession>();
  private config: { revision: number; signed: SignedConfig } | undefined;
  private configured = new Set<number>();
  private readonly commands = new Map<number, PendingCommand>();
  private nextCommandId = 1;
  // The other server replicas' agents, when there are replicas.
  private directory: AgentDirectory | undefined;

  constructor(
    private readonly log: Logger,
    private readonly signer: ConfigSigner,
    private readonly commandTimeoutMs = COMMAND_TIMEOUT_MS,
  ) {
    super();
    this.setMaxListeners(0);
  }

  // Replicas: agents held by the others count as connected, and commands for them go to their replica.
  join(directory: AgentDirectory): void {
    this.directory = directory;
    directory.onChange((node) => this.emit('node', node));
    directory.serve((node, command) => this.sendCommand(node, command, { localOnly: true }));
  }

  private publish(node: string): void {
    const s = this.agents.get(node);
    this.directory?.publish(
      node,
      s?.stream && {
        hello: s.hello,
        status: s.status,
        configRevision: s.configRevision,
        connectedSinceMs: s.connectedSinceMs,
      },
    );
  }

  // An agent held by another replica, unless this one holds it itself.
  private remoteSession(node: string): RemoteSession | undefined {
    if (this.agents.get(node)?.stream) return undefined;
    return this.directory?.remote().get(node);
  }

  private remoteSessions(): RemoteSession[] {
    return [...(this.directory?.remote().values() ?? [])].filter((s) => !this.agents.get(s.hello.node)?.stream);
  }

  // Signed once per change, sent to every agent, relayed by agents in gossip as it is.
  setConfig(revision: number, vnis: VniConfig[], revocations: Revocation[]): void {
    this.configured = new Set(vnis.map((v) => v.id));
    this.config = {
      revision,
      signed: signConfig({ revision, vnis: vnis.map(vniToProto), revocations }, this.signer),
    };
    for (const session of this.agents.values()) {
      if (session.stream) this.sendConfig(session.stream);
    }
  }

  // A newer stream for the same node replaces the older one, which is usually a dead connection
  // from before the agent restarted.
  attach(hello: Hello__Output, stream: AgentStream): void {
    const previous = this.agents.get(hello.node);
    if (previous?.stream && previous.stream !== stream) {
      this.log.warn('agent reconnected; closing its previous stream', { node: hello.node });
      previous.stream.end();
    }
    this.agents.set(hello.node, {
      hello,
      stream,
      status: previous?.status ?? [],
      configRevision: Number(hello.configRevision),
      lastSeenMs: Date.now(),
      membership: previous?.membership ?? new Map<string, Reported>(),
      connectedSinceMs: Date.now(),
    });
    this.log.info('agent connected', {
      node: hello.node,
      vtep: hello.vtep,
      configRevision: Number(hello.configRevision),
    });
    this.publish(hello.node);
    this.emit('node', hello.node);
    this.sendConfig(stream);
  }

  detach(node: string, stream: AgentStream): void {
    const session = this.agents.get(node);
    if (session?.stream !== stream) return;
    session.stream = undefined;
    session.lastSeenMs = Date.now();
    this.log.info('agent disconnected', { node });
    this.publish(node);
    this.emit('node', node);
    for (const [id, pending] of this.commands) {
      if (pending.node !== node) continue;
      this.commands.delete(id);
      clearTimeout(pending.timer);
      pending.reject(
        new RpcError(
          grpc.status.UNAVAILABLE,
          `agent ${node} disconnected before answering; check the endpoint with ctl endpoint list`,
        ),
      );
    }
  }

  // A revoked node: its stream is closed and the server forgets it.
  disconnect(node: string, reason: string): void {
    const session = this.agents.get(node);
    if (!session) return;
    const stream = session.stream;
    this.agents.delete(node);
    if (stream) endStream(stream, grpc.status.PERMISSION_DENIED, reason);
    this.publish(node);
    this.emit('node', node);
  }

  // The VTEP of every node that has said hello, connected now or not.
  vteps(): KnownVtep[] {
    return [...this.agents.values(), ...this.remoteSessions()].map((s) => ({ node: s.hello.node, vtep: s.hello.vtep }));
  }

  sessionOf(node: string): { vtep: string; connected: boolean } | undefined {
    const remote = this.remoteSession(node);
    if (remote) return { vtep: remote.hello.vtep, connected: true };
    const s = this.agents.get(node);
    return s && { vtep: s.hello.vtep, connected: s.stream !== undefined };
  }

  // Routes a command to the agent that must carry it out, through the replica holding its stream if
  // that is another, and waits for its answer.
  sendCommand(node: string, command: Omit<Command, 'id'>, { localOnly = false } = {}): Promise<CommandResult__Output> {
    const remote = localOnly ? undefined : this.remoteSession(node);
    if (remote) return this.directory!.send(node, command, this.commandTimeoutMs);
    const session = this.agents.get(node);
    // An unknown name is most often a typo: NOT_FOUND, not the UNAVAILABLE of a host that is down.
    if (!session)
      return Promise.reject(
        new RpcError(
          grpc.status.NOT_FOUND,
          `no agent named ${node} has connected to this server: check the name (ctl node list shows the hosts it knows)`,
        ),
      );
    if (!session.stream)
      return Promise.reject(
        new RpcError(
          grpc.status.UNAVAILABLE,
          `agent ${node} is not connected to this server now: start its node-agent, or wait until it reconnects (ctl node list)`,
        ),
      );
    const id = this.nextCommandId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.commands.delete(id);
        reject(
          new RpcError(
            grpc.status.DEADLINE_EXCEEDED,
            `agent ${node} did not answer within ${this.commandTimeoutMs / 1000} s`,
          ),
        );
      }, this.commandTimeoutMs);
      this.commands.set(id, { node, resolve, reject, timer });
      session.stream!.write({ command: { ...command, id } });
    });
  }

  // The same command to every connected agent (serf's fan-out): each one's answer, or why it has none.
  async commandEveryAgent(
    command: Omit<Command, 'id'>,
  ): Promise<Array<{ node: string; result?: CommandResult__Output; error?: string }>> {
    const nodes = [
      ...[...this.agents].filter(([, s]) => s.stream).map(([node]) => node),
      ...this.remoteSessions().map((s) => s.hello.node),
    ];
    if (nodes.length === 0) throw new RpcError(grpc.status.UNAVAILABLE, 'no agent is connected to this server');
    return Promise.all(
      nodes.map(async (node) => {
        try {
          const result = await this.sendCommand(node, command);
          return result.error ? { node, error: result.error } : { node, result };
        } catch (err) {
          return { node, error: (err as Error).message };
        }
      }),
    );
  }

  commandResult(node: string, result: CommandResult__Output): void {
    const id = Number(result.id);
    const pending = this.commands.get(id);
    if (!pending || pending.node !== node) {
      this.log.warn('command result for no pending command', { node, id });
      return;
    }
    this.commands.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }

  // Merged by name (a report of n members costs O(n)); an oversized or malformed report is refused
  // whole and the previous view kept.
  recordMembership(node: string, members: Node__Output[]): void {
    const session = this.agents.get(node);
    if (!session) return;
    if (members.length > MAX_MEMBERSHIP)
      throw new RpcError(
        grpc.status.RESOURCE_EXHAUSTED,
        `a membership report of ${members.length} members exceeds ${MAX_MEMBERSHIP}`,
      );
    const next = new Map<string, Reported>();
    for (const m of members)
      next.set(checkNodeName('membership.members.name', m.name), { state: m.state, sinceMs: Number(m.stateSinceMs) });
    // Another agent's view changes what we report about the nodes it names.
    const changed = [...next]
      .filter(([name, { state }]) => session.membership.get(name)?.state !== state)
      .map(([n]) => n);
    session.membership = next;
    for (const name of changed) if (this.agents.has(name)) this.emit('node', name);
  }

  // A node's state as the connected agents see it: any agent connected now is alive; otherwise the
  // freshest report wins the argument, alive over dead (a partition is not a death).
  gossipState(node: string): GossipState {
    return this.reportOf(node).state;
  }

  private stateOf(node: string): Pick<Node, 'state' | 'stateSinceMs'> {
    const { state, sinceMs } = this.reportOf(node);
    return { state, stateSinceMs: sinceMs };
  }

  private reportOf(node: string): Reported {
    const own = this.agents.get(node);
    if (own?.stream) return { state: 'NODE_STATE_ALIVE', sinceMs: own.connectedSinceMs };
    const remote = this.remoteSession(node);
    if (remote) return { state: 'NODE_STATE_ALIVE', sinceMs: remote.connectedSinceMs };
    let best: Reported = { state: 'NODE_STATE_UNSPECIFIED', sinceMs: 0 };
    for (const s of this.agents.values()) {
      if (!s.stream) continue;
      const seen = s.membership.get(node);
      if (seen && STATE_RANK[seen.state] > STATE_RANK[best.state]) best = seen;
    }
    return best;
  }

  // Kept for the VNIs configured now, one entry each, errors cut to STATUS_ERROR_MAX: an agent's report
  // costs what the configuration does, whatever it sends (ctl node list serves every node's at once).
  recordStatus(node: string, reported: ProgrammingStatus__Output[], configRevision: number): void {
    const session = this.agents.get(node);
    if (!session) return;
    const byVni = new Map<number, ProgrammingStatus__Output>();
    for (const s of reported) {
      if (!this.configured.has(s.vni) || byVni.has(s.vni)) continue;
      const cut = s.error.length > STATUS_ERROR_MAX;
      byVni.set(s.vni, cut ? { ...s, error: `${s.error.slice(0, STATUS_ERROR_MAX)}…` } : s);
    }
    const status = [...byVni.values()];
    const changed =
      JSON.stringify(session.status) !== JSON.stringify(status) || session.configRevision !== configRevision;
    session.status = status;
    session.configRevision = configRevision;
    session.lastSeenMs = Date.now();
    if (!changed) return;
    this.publish(node);
    this.emit('node', node);
  }

  statusOf(vni: number): Array<{ node: string; status: ProgrammingStatus__Output }> {
    const out: Array<{ node: string; status: ProgrammingStatus__Output }> = [];
    for (const session of this.everySession()) {
      const status = session.status.find((s) => s.vni === vni);
      if (status) out.push({ node: session.hello.node, status });
    }
    return out.sort((a, b) => a.node.localeCompare(b.node));
  }

  // Each node's session as this replica knows it: its own stream, else another replica's, else its
  // own last one (disconnected).
  private everySession(): SessionView[] {
    const own = [...this.agents.values()].map((s) => ({ ...s, connected: s.stream !== undefined }));
    const remote = this.remoteSessions().map((s) => ({ ...s, connected: true, lastSeenMs: Date.now() }));
    const byNode = new Map<string, SessionView>(own.map((s) => [s.hello.node, s]));
    for (const s of remote) byNode.set(s.hello.node, s);
    return [...byNode.values()];
  }

  nodes(): Node[] {
    return this.everySession()
      .map((s): Node => ({
        name: s.hello.node,
        vtep: s.hello.vtep,
        ...this.stateOf(s.hello.node),
        gossipAddress: s.hello.gossipAddress,
        incarnation: s.hello.incarnation,
        agentVersion: s.hello.agentVersion,
        connected: s.connected,
        lastSeenMs: s.connected ? Date.now() : s.lastSeenMs,
        programming: s.status,
        vnis: s.status.filter((p) => p.devicesReady).map((p) => p.vni),
        configRevision: s.configRevision,
      }))
      .sort((a, b) => a.name!.localeCompare(b.name!));
  }

  closeAll(): void {
    for (const session of this.agents.values()) session.stream?.end();
  }

  signedConfig(): SignedConfig | undefined {
    return this.config?.signed;
  }

  private sendConfig(stream: AgentStream): void {
    if (this.config) stream.write({ config: this.config.signed });
  }
}
