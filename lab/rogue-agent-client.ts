import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../common/proto';
import { clientCredentials } from '../common/tls';
import { tokenClientInterceptor } from '../common/token-auth';
import { unaryCall } from '../common/grpc-client';
import type { Logger } from '../common/log';
import type { AgentMessage } from '../generated/vxgossip/v1/AgentMessage';
import type { ServerMessage__Output } from '../generated/vxgossip/v1/ServerMessage';
import type { Command__Output } from '../generated/vxgossip/v1/Command';
import type { CommandResult } from '../generated/vxgossip/v1/CommandResult';
import type { Hello } from '../generated/vxgossip/v1/Hello';
import type { Record } from '../generated/vxgossip/v1/Record';
import type { AgentServiceClient } from '../generated/vxgossip/v1/AgentService';
import type { LabHost } from './network';
import type { ManagedProcess } from './managed-process';

// What the rogue presents: nothing (plaintext), TLS without a client certificate (ca only), or a
// client certificate it got hold of (another node's, an operator's). Paths to PEM files. A token is
// sent as the operator bearer token.
export interface RogueCredentials {
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
}

function channel(credentials: RogueCredentials = {}): { creds: grpc.ChannelCredentials; options: grpc.ClientOptions } {
  const creds = clientCredentials({ ca: credentials.ca, cert: credentials.cert, key: credentials.key });
  const options: grpc.ClientOptions = credentials.token
    ? { interceptors: [tokenClientInterceptor(credentials.token)] }
    : {};
  return { creds, options };
}

export interface RogueAgentSpec {
  server: string;
  credentials?: RogueCredentials;
  // The identity it claims: the server takes the node from here unless something stops it.
  hello: Hello;
  // Replicated as soon as the server answers the Hello (on every stream, when reconnecting).
  records?: Record[];
  // Connect again this long after the server ends the stream, as a persistent attacker would
  // (a displaced agent reconnects too, and would otherwise win the session back for good).
  reconnectMs?: number;
}

export interface StreamEnd {
  code: grpc.status;
  details: string;
}

// The agent side of AgentService.Connect, played by an impostor: says Hello as whoever it is told,
// replicates the records it is given, and answers every command routed to it with a plausible success
// (a fake endpoint for an attach; a keyring that "holds" any key it is sent), noting what it learned.
export class RogueAgentClient {
  readonly commands: Command__Output[] = [];
  // Gossip keys the server handed over in clear text (ctl keys install/use/remove).
  readonly keys: string[] = [];
  readonly acks: unknown[] = [];
  readonly ended: Promise<StreamEnd>;
  private connectedFlag = false;
  private readonly client: AgentServiceClient;
  private readonly stream: grpc.ClientDuplexStream<AgentMessage, ServerMessage__Output>;

  constructor(
    private readonly spec: RogueAgentSpec,
    private readonly log: Logger,
  ) {
    const { creds, options } = channel(spec.credentials);
    this.client = new (v1().AgentService)(spec.server, creds, options);
    this.stream = this.client.connect();
    this.ended = new Promise((resolve) => {
      this.stream.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
      this.stream.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
    });
    this.stream.on('data', (m: ServerMessage__Output) => this.handle(m));
    this.stream.write({ hello: spec.hello });
  }

  // The server answered the Hello (it sends the configuration first): the stream is ours.
  get connected(): boolean {
    return this.connectedFlag;
  }

  replicate(records: Record[]): void {
    this.stream.write({ records: { records } });
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }

  private handle(m: ServerMessage__Output): void {
    if (!this.connectedFlag) {
      this.connectedFlag = true;
      this.log.info('rogue agent accepted', { as: this.spec.hello.node, first: m.msg });
      if (this.spec.records?.length) this.replicate(this.spec.records);
    }
    if (m.msg === 'recordsAck') {
      this.acks.push(m.recordsAck?.version);
      this.log.info('rogue agent records acknowledged', { version: m.recordsAck?.version });
    } else if (m.msg === 'command' && m.command) {
      this.commands.push(m.command);
      const result = this.answer(m.command);
      this.log.info('rogue agent received a command', { command: m.command, answered: result });
      this.stream.write({ commandResult: result });
    }
  }

  private answer(c: Command__Output): CommandResult {
    const id = c.id;
    switch (c.cmd) {
      case 'attach': {
        const a = c.attach!;
        const endpoint = {
          vni: a.vni,
          mac: a.mac || '02:00:5e:66:66:66',
          ips: [a.ip],
          node: this.spec.hello.node,
          vtep: this.spec.hello.vtep,
          netns: a.netns,
          interface: a.interface || 'eth0',
          origin: 'ENDPOINT_ORIGIN_API' as const,
        };
        return { id, endpoint };
      }
      case 'installKey':
      case 'useKey':
      case 'removeKey': {
        const key = c[c.cmd]?.key ?? '';
        this.keys.push(key);
        return { id, keyring: { keys: { [key]: 1 }, primaryKeys: { [key]: 1 }, nodes: 1 } };
      }
      case 'listKeys':
        return { id, keyring: { keys: {}, primaryKeys: {}, nodes: 1 } };
      default:
        return { id };
    }
  }
}

export type OperatorRpc =
  | { rpc: 'createVni'; vni: number }
  | { rpc: 'deleteVni'; vni: number }
  // IpamService: a node's own calls, and the operator's listing.
  | { rpc: 'claimBlock'; vni: number }
  | { rpc: 'releaseBlock'; vni: number; cidr: string }
  | { rpc: 'listBlocks' };

function invoke(server: string, creds: grpc.ChannelCredentials, options: grpc.ClientOptions, call: OperatorRpc) {
  if (call.rpc === 'createVni' || call.rpc === 'deleteVni') {
    const vnis = new (v1().VniService)(server, creds, options);
    const done =
      call.rpc === 'createVni'
        ? unaryCall((o, cb) => vnis.createVni({ vni: { id: call.vni } }, o, cb), 5000)
        : unaryCall((o, cb) => vnis.deleteVni({ id: call.vni }, o, cb), 5000);
    return { client: vnis, done };
  }
  const ipam = new (v1().IpamService)(server, creds, options);
  const done =
    call.rpc === 'claimBlock'
      ? unaryCall((o, cb) => ipam.claimBlock({ vni: call.vni, known: [] }, o, cb), 5000)
      : call.rpc === 'releaseBlock'
        ? unaryCall((o, cb) => ipam.releaseBlock({ vni: call.vni, cidr: call.cidr }, o, cb), 5000)
        : unaryCall((o, cb) => ipam.listBlocks({}, o, cb), 5000);
  return { client: ipam, done };
}

// One operator RPC made with the given credential: null if the server carried it out, else its status.
export async function attemptOperatorRpc(
  server: string,
  credentials: RogueCredentials,
  call: OperatorRpc,
): Promise<StreamEnd | null> {
  const { creds, options } = channel(credentials);
  const { client, done } = invoke(server, creds, options, call);
  try {
    await done;
    return null;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  } finally {
    client.close();
  }
}

export type RogueAgentMainSpec =
  | ({ mode: 'agent' } & RogueAgentSpec)
  | { mode: 'operator'; server: string; credentials: RogueCredentials; call: OperatorRpc };

// Runs the rogue client in a lab host (its own network namespace). An agent stream logs
// 'rogue agent accepted', 'rogue agent received a command' and 'rogue agent stream ended'; an
// operator call logs 'rogue operator call' and exits.
export function spawnRogueAgent(host: LabHost, spec: RogueAgentMainSpec): ManagedProcess {
  return host.spawn(`rogue-${spec.mode}`, process.execPath, [
    path.join(__dirname, 'rogue-agent-main.js'),
    '--spec',
    JSON.stringify(spec),
  ]);
}
