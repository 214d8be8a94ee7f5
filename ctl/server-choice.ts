import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { unaryCall } from '../common/grpc-client';
import { NoServerAnswered, sentByServer } from './errors';

// A generated client class of one of the server's services.
export type ClientClass<C> = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ClientOptions,
) => C;

export interface Dial {
  credentials: () => grpc.ChannelCredentials;
  options: grpc.ClientOptions;
  // How long one address may take to answer.
  timeoutMs: number;
}

interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
}
// grpc.health.v1, as the server serves it (grpc-health-check, whose definition this is).
const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health') as unknown as ClientClass<HealthClient>;

// The server this invocation of ctl talks to, among the replicas --server lists: the first that
// answers a health check, asked in order (one that says NOT_SERVING only if none serves). Every
// call then goes there, so a request is only ever sent to a server that answered: a write is never
// sent twice. A single address is taken as it is, unasked, as ctl always did.
export class ServerChoice {
  private chosen: string | undefined;

  constructor(
    readonly addresses: readonly string[],
    private readonly dial: Dial,
  ) {}

  // For messages: the server chosen, else every address.
  describe(): string {
    return this.chosen ?? this.addresses.join(',');
  }

  // A client of `service` at the chosen server (chosen now if it is not yet); `waitMs` bounds how
  // long each address may take to answer.
  async client<C>(service: ClientClass<C>, waitMs = this.dial.timeoutMs): Promise<C> {
    if (this.chosen === undefined)
      this.chosen = this.addresses.length === 1 ? this.addresses[0] : await this.firstAnswering(this.addresses, waitMs);
    return new service(this.chosen, this.dial.credentials(), this.dial.options);
  }

  // The stream to the chosen server broke: the first of the others that answers, in list order
  // after it, the broken one last (it may be back).
  async failover(): Promise<void> {
    const at = this.chosen === undefined ? -1 : this.addresses.indexOf(this.chosen);
    const order = [...this.addresses.slice(at + 1), ...this.addresses.slice(0, at + 1)];
    this.chosen = undefined;
    this.chosen = await this.firstAnswering(order, this.dial.timeoutMs);
  }

  private async firstAnswering(order: readonly string[], waitMs: number): Promise<string> {
    const failures: Array<{ address: string; error: unknown }> = [];
    let notServing: string | undefined;
    for (const address of order) {
      const status = await this.check(address, waitMs).catch((error: unknown) => {
        failures.push({ address, error });
        return undefined;
      });
      if (status === 'SERVING') return address;
      if (status === 'NOT_SERVING') notServing ??= address;
    }
    // It answers, and will say itself why it cannot serve what is asked.
    if (notServing !== undefined) return notServing;
    throw new NoServerAnswered(failures);
  }

  // SERVING, or NOT_SERVING; a server without the health service (or that refuses ctl's credential
  // for it) has answered too, and counts as serving: the command's own call says what it says.
  // Its client is left open: a command's client to the same address shares its connection (grpc-js
  // pools them), so choosing costs a round trip, not a second handshake.
  private async check(address: string, waitMs: number): Promise<'SERVING' | 'NOT_SERVING'> {
    const probe = new HealthClient(address, this.dial.credentials(), this.dial.options);
    try {
      const res = await unaryCall<{ status: string }>((o, cb) => probe.Check({ service: '' }, o, cb), waitMs);
      return res.status === 'NOT_SERVING' ? 'NOT_SERVING' : 'SERVING';
    } catch (err) {
      if (sentByServer(err as grpc.ServiceError)) return 'SERVING';
      throw err;
    }
  }
}
