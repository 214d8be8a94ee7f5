import * as grpc from '@grpc/grpc-js';
import { v1 } from '../common/proto';
import type { AgentServiceClient } from '../generated/vxgossip/v1/AgentService';
import type { AgentMessage } from '../generated/vxgossip/v1/AgentMessage';
import type { ServerMessage__Output } from '../generated/vxgossip/v1/ServerMessage';
import type { Record } from '../generated/vxgossip/v1/Record';
import type { Node } from '../generated/vxgossip/v1/Node';
import type { Hello } from '../generated/vxgossip/v1/Hello';
import type { AgentStatus } from '../generated/vxgossip/v1/AgentStatus';
import { NodeCredential, ServerRef, enrolNode } from './enrolment';

type Version = NonNullable<NonNullable<ServerMessage__Output['recordsAck']>['version']>;

export interface StreamEnd {
  code: grpc.status;
  details: string;
}

// The agent side of the replication stream without an agent: tests and benchmarks drive the server
// with exactly the records they choose, as a foreign or misbehaving agent could. It connects with a
// node certificate, as every agent must; its Hello names the node and VTEP the certificate certifies,
// unless the test overrides fields of it to play a rogue.
export class ReplicatingAgent {
  private readonly client: AgentServiceClient;
  private readonly stream: grpc.ClientDuplexStream<AgentMessage, ServerMessage__Output>;
  private readonly waiting: Array<(v: Version) => void> = [];
  private counter = 0;
  readonly node: string;
  readonly vtep: string;
  // The status the server ended the stream with.
  readonly ended: Promise<StreamEnd>;
  // Resolves with the server's first message (the configuration): the Hello was accepted.
  readonly accepted: Promise<void>;

  constructor(
    address: string,
    readonly credential: NodeCredential,
    readonly incarnation = 1,
    hello: Partial<Hello> = {},
  ) {
    this.node = credential.node;
    this.vtep = credential.vteps[0];
    this.client = new (v1().AgentService)(address, credential.channelCredentials());
    this.stream = this.client.connect();
    this.accepted = new Promise((resolve) => this.stream.once('data', () => resolve()));
    this.ended = new Promise((resolve) => this.stream.on('status', (s: grpc.StatusObject) => resolve(s)));
    this.stream.on('data', (m: ServerMessage__Output) => {
      if (m.msg === 'recordsAck' && m.recordsAck?.version) this.waiting.shift()?.(m.recordsAck.version);
    });
    this.stream.on('error', () => undefined);
    this.stream.write({
      hello: { node: this.node, vtep: this.vtep, incarnation, agentVersion: 'lab', configRevision: 0, ...hello },
    });
  }

  // Enrols `node` at `vtep` (with a token made for it unless one is given) and connects.
  static async enrol(server: ServerRef, node: string, vtep: string, token?: string): Promise<ReplicatingAgent> {
    return new ReplicatingAgent(server.address, await enrolNode(server, node, [vtep], token));
  }

  // An endpoint record of this agent's, with the next version.
  endpoint(vni: number, mac: string, options: { mobilitySeq?: number; tombstone?: boolean } = {}): Record {
    return {
      owner: this.node,
      version: { incarnation: this.incarnation, counter: ++this.counter },
      tombstone: options.tombstone ?? false,
      originTimeMs: Date.now(),
      endpoint: {
        vni,
        mac,
        ips: [],
        node: this.node,
        vtep: this.vtep,
        mobilitySeq: options.mobilitySeq ?? 0,
        origin: 'ENDPOINT_ORIGIN_API',
      },
    };
  }

  // Sends a batch; resolves with the acknowledged version, or undefined if the server refused it
  // (no acknowledgement within the timeout).
  replicate(records: Record[], timeoutMs = 5000): Promise<Version | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(done);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(undefined);
      }, timeoutMs);
      const done = (v: Version) => {
        clearTimeout(timer);
        resolve(v);
      };
      this.waiting.push(done);
      this.stream.write({ records: { records } });
    });
  }

  // Sends a batch without waiting for its acknowledgement, once the stream has room for it: a flood
  // of batches costs the sender no more memory than the stream's buffer.
  async send(records: Record[]): Promise<void> {
    if (!this.stream.write({ records: { records } })) await new Promise((r) => this.stream.once('drain', r));
  }

  // Reports this agent's gossip view of other nodes, as a real agent does after every change.
  reportMembership(members: Node[]): void {
    this.stream.write({ membership: { members } });
  }

  // Reports how far this agent has programmed each VNI, as a real agent does after every pass.
  reportStatus(status: AgentStatus): void {
    this.stream.write({ status });
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}
