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
// re-sends the latest status. Given several addresses (the server's replicas), each retry dials the
// next one, so a replica that is gone is left at once and the backoff spaces out the rounds of a list
// that is all down. Nothing here blocks the agent's data-plane work.
export class ServerLink {
  private client: AgentServiceClient;
  // The address `client` dials: an index into `addresses`.
  private at = 0;
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
    private readonly addresses: readonly string[],
    private readonly hello: () => Hello,
    private readonly events: ServerLinkEvents,
    private readonly log: Logger,
    private credentials: grpc.ChannelCredentials,
  ) {
    if (addresses.length === 0) throw new Error('ServerLink needs at least one server address');
    this.client = this.dial();
  }

  private dial(): AgentServiceClient {
    return new (v1().AgentService)(this.addresses[this.at], this.credentials, CHANNEL_OPTIONS);
  }

  // The replica the stream is up to; undefined while not connected.
  get server(): string | undefined {
    return this.stream ? this.addresses[this.at] : undefined;
  }

  // Every address, the one the stream is up to (or being dialled) first: where the agent's other
  // calls (renewal, address blocks) go first, as it is the one most likely to answer.
  serversInTurn(): string[] {
    return [...this.addresses.slice(this.at), ...this.addresses.slice(0, this.at)];
  }

  // A renewed certificate: a stream is opened with it while the old one still carries commands. The
  // server replaces the old stream when the new one says Hello; the old client is closed then.
  setCredentials(credentials: grpc.ChannelCredentials): void {
    const client = this.client;
    const stream = this.stream;
    this.credentials = credentials;
    this.client = this.dial();
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
        this.log.info('connected to server', { server: this.addresses[this.at] });
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
      const server = this.addresses[this.at];
      this.moveOn();
      const delay = this.backoff.next();
      const next = this.addresses[this.at];
      this.log.warn('server stream down; retrying', { server, reason, next, retryInMs: delay });
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    stream.on('error', (err: grpc.ServiceError) => lost(`${grpc.status[err.code] ?? err.code}: ${err.details}`));
    stream.on('end', () => lost('server closed the stream'));
    stream.write({ hello: this.hello() });
  }

  // The next address of the list, dialled with a client of its own; one address is dialled again.
  private moveOn(): void {
    if (this.addresses.length === 1) return;
    this.at = (this.at + 1) % this.addresses.length;
    // Its stream has ended; a retiring stream has a client of its own.
    this.client.close();
    this.client = this.dial();
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
