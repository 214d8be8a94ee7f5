import * as grpc from '@grpc/grpc-js';
import type { AgentMessage__Output } from '../generated/vxgossip/v1/AgentMessage';
import type { ServerMessage } from '../generated/vxgossip/v1/ServerMessage';
import type { Hello__Output } from '../generated/vxgossip/v1/Hello';
import type { ProgrammingStatus__Output } from '../generated/vxgossip/v1/ProgrammingStatus';
import type { Node } from '../generated/vxgossip/v1/Node';
import type { Logger } from '../common/log';
import { vniToProto } from '../common/vni-proto';
import type { VniConfig } from '../common/vni';

export type AgentStream = grpc.ServerDuplexStream<AgentMessage__Output, ServerMessage>;

interface AgentSession {
  hello: Hello__Output;
  stream: AgentStream | undefined;
  status: ProgrammingStatus__Output[];
  configRevision: number;
  lastSeenMs: number;
}

// The agents known to this server, with the stream of each connected one. Pushes the VNI
// configuration to every connected agent whenever it changes.
export class AgentHub {
  private readonly agents = new Map<string, AgentSession>();
  private config: { revision: number; vnis: VniConfig[] } = { revision: 0, vnis: [] };

  constructor(private readonly log: Logger) {}

  setConfig(revision: number, vnis: VniConfig[]): void {
    this.config = { revision, vnis };
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
    });
    this.log.info('agent connected', { node: hello.node, vtep: hello.vtep, configRevision: Number(hello.configRevision) });
    this.sendConfig(stream);
  }

  detach(node: string, stream: AgentStream): void {
    const session = this.agents.get(node);
    if (session?.stream !== stream) return;
    session.stream = undefined;
    session.lastSeenMs = Date.now();
    this.log.info('agent disconnected', { node });
  }

  recordStatus(node: string, status: ProgrammingStatus__Output[], configRevision: number): void {
    const session = this.agents.get(node);
    if (!session) return;
    session.status = status;
    session.configRevision = configRevision;
    session.lastSeenMs = Date.now();
  }

  statusOf(vni: number): Array<{ node: string; status: ProgrammingStatus__Output }> {
    const out: Array<{ node: string; status: ProgrammingStatus__Output }> = [];
    for (const [node, session] of this.agents) {
      const status = session.status.find((s) => s.vni === vni);
      if (status) out.push({ node, status });
    }
    return out.sort((a, b) => a.node.localeCompare(b.node));
  }

  nodes(): Node[] {
    return [...this.agents.values()]
      .map((s): Node => ({
        name: s.hello.node,
        vtep: s.hello.vtep,
        gossipAddress: s.hello.gossipAddress,
        incarnation: s.hello.incarnation,
        agentVersion: s.hello.agentVersion,
        connected: s.stream !== undefined,
        lastSeenMs: s.stream ? Date.now() : s.lastSeenMs,
        programming: s.status,
        vnis: s.status.filter((p) => p.devicesReady).map((p) => p.vni),
        configRevision: s.configRevision,
      }))
      .sort((a, b) => a.name!.localeCompare(b.name!));
  }

  closeAll(): void {
    for (const session of this.agents.values()) session.stream?.end();
  }

  private sendConfig(stream: AgentStream): void {
    stream.write({ config: { revision: this.config.revision, vnis: this.config.vnis.map(vniToProto) } });
  }
}
