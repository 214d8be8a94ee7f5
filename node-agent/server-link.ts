import * as grpc from '@grpc/grpc-js';
import type { AgentMessage } from '../generated/vxgossip/v1/AgentMessage';
import type { ServerMessage__Output } from '../generated/vxgossip/v1/ServerMessage';
import type { AgentStatus } from '../generated/vxgossip/v1/AgentStatus';
import type { Record as RecordProto } from '../generated/vxgossip/v1/Record';
import type { Node } from '../generated/vxgossip/v1/Node';
import type { AgentServiceClient } from '../generated/vxgossip/v1/AgentService';
import type { Hello } from '../generated/vxgossip/v1/Hello';
import type { Command__Output } from '../generated/vxgossip/v1/Command';
import type { SignedConfig__Output } from '../generated/vxgossip/v1/SignedConfig';
import type { CommandResult } from '../generated/vxgossip/v1/CommandResult';
import { Backoff } from './backoff';
import type { Logger } from '../common/log';
import { v1 } from '../common/proto';

const STATUS_INTERVAL_MS = 100;
const RECORDS_PER_MESSAGE = 1024;

// Keepalives detect a server that vanished without closing the connection (a pulled cable).
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
};

export interface ServerLinkEvents {
  onConfig(config: SignedConfig__Output): void;
  // A command routed to this agent (endpoint attach/detach, keyring); the result goes back on the stream.
  onCommand(command: Command__Output): Promise<CommandResult>;
  onConnected?(): void;
}

// The agent's stream to the server: reconnects with backoff forever, says Hello on every connect and
// re-sends the latest status. Nothing here blocks the agent's data-plane work.
export class ServerLink {
  private client: AgentServiceClient;
  private stream: grpc.ClientDuplexStream<AgentMessage, ServerMessage__Output> | undefined;
  private readonly backoff = new Backoff();
  private retryTimer: NodeJS.Timeout | undefined;
  // The stream (and client) of the certificate a renewal replaced, until the new stream is up.
  private retiring:
    { stream: grpc.ClientDuplexStream<AgentMessage, ServerMessage__Output>; client: AgentServiceClient } | undefined;
  private lastStatus: AgentStatus | undefined;
  private statusHeld: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly address: string,
    private readonly hello: () => Hello,
    private readonly events: ServerLinkEvents,
    private readonly log: Logger,
    credentials: grpc.ChannelCredentials,
  ) {
    this.client = new (v1().AgentService)(address, credentials, CHANNEL_OPTIONS);
  }

  // A renewed certificate: a stream is opened with it while the old one still carries commands. The
  // server replaces the old stream when the new one says Hello; the old client is closed then.
  setCredentials(credentials: grpc.ChannelCredentials): void {
    const client = this.client;
    const stream = this.stream;
    this.client = new (v1().AgentService)(this.address, credentials, CHANNEL_OPTIONS);
    if (!stream) {
      // Not connected: the next retry dials with the new certificate.
      client.close();
      return;
    }
    this.retiring = { stream, client };
    this.connect();
  }

  private retire(): void {
    const old = this.retiring;
    if (!old) return;
    this.retiring = undefined;
    old.stream.removeAllListeners();
    old.stream.on('error', () => undefined);
    old.client.close();
  }

  start(): void {
    this.connect();
  }

  get connected(): boolean {
    return this.stream !== undefined;
  }

  // Our owned records: the server acknowledges once they are durable. Unacknowledged ones are sent
  // again on the next connect (onConnected re-sends everything we own).
  // In messages of at most RECORDS_PER_MESSAGE: a host with tens of thousands of local MACs stays
  // far below the server's message size limit.
  sendRecords(records: RecordProto[]): void {
    for (let i = 0; i < records.length; i += RECORDS_PER_MESSAGE)
      this.stream?.write({ records: { records: records.slice(i, i + RECORDS_PER_MESSAGE) } });
  }

  sendMembership(members: Node[]): void {
    this.stream?.write({ membership: { members } });
  }

  // A pass after every change would send a status per change from every agent (each over TLS, each
  // handled by the server): the latest one, at most one per interval, is what the server needs. It
  // waits that long after a change, so it does not compete with peers still programming that change.
  sendStatus(status: AgentStatus): void {
    this.lastStatus = status;
    this.statusHeld ??= setTimeout(() => {
      this.statusHeld = undefined;
      this.stream?.write({ status: this.lastStatus });
    }, STATUS_INTERVAL_MS);
  }

  close(): void {
    this.closed = true;
    this.retire();
    clearTimeout(this.statusHeld);
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.client.close();
  }

  private connect(): void {
    if (this.closed) return;
    const stream = this.client.connect();
    let established = false;
    stream.on('data', (msg: ServerMessage__Output) => {
      if (!established) {
        established = true;
        this.stream = stream;
        this.retire();
        this.backoff.reset();
        this.log.info('connected to server', { server: this.address });
        if (this.lastStatus) stream.write({ status: this.lastStatus });
        this.events.onConnected?.();
      }
      this.handle(msg);
    });
    const lost = (reason: string) => {
      if (this.stream === stream) this.stream = undefined;
      // The server ended the stream a renewed one replaces: nothing to retry.
      if (this.retiring?.stream === stream) return this.retire();
      stream.removeAllListeners();
      stream.on('error', () => undefined);
      if (this.closed) return;
      const delay = this.backoff.next();
      this.log.warn('server stream down; retrying', { server: this.address, reason, retryInMs: delay });
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    stream.on('error', (err: grpc.ServiceError) => lost(`${grpc.status[err.code] ?? err.code}: ${err.details}`));
    stream.on('end', () => lost('server closed the stream'));
    stream.write({ hello: this.hello() });
  }

  private handle(msg: ServerMessage__Output): void {
    switch (msg.msg) {
      case 'config':
        this.events.onConfig(msg.config!);
        break;
      case 'recordsAck':
        this.log.debug('server holds our records', { version: msg.recordsAck?.version });
        break;
      case 'command': {
        const stream = this.stream;
        void this.events.onCommand(msg.command!).then((result) => stream?.write({ commandResult: result }));
        break;
      }
      default:
        this.log.debug('server message not handled by this agent version', { kind: msg.msg });
    }
  }
}
