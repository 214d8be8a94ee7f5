import type { ServerMessage } from '../../generated/vxgossip/v1/ServerMessage';
import type { Hello__Output } from '../../generated/vxgossip/v1/Hello';

// The hub only writes to and ends an agent's stream; this one keeps what it was sent.
export class FakeStream {
  readonly sent: ServerMessage[] = [];
  ended = false;

  write(msg: ServerMessage): boolean {
    this.sent.push(msg);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  get commands() {
    return this.sent.filter((m) => m.command).map((m) => m.command!);
  }
}

export const hello = (node: string, over: Partial<Hello__Output> = {}): Hello__Output => ({
  node,
  vtep: `198.18.0.${node.slice(1)}`,
  gossipAddress: `198.18.0.${node.slice(1)}:7946`,
  incarnation: '1',
  agentVersion: 'test',
  configRevision: '0',
  ...over,
});
