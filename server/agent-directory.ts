import type { Hello__Output } from '../generated/vxgossip/v1/Hello';
import type { ProgrammingStatus__Output } from '../generated/vxgossip/v1/ProgrammingStatus';
import type { Command } from '../generated/vxgossip/v1/Command';
import type { CommandResult__Output } from '../generated/vxgossip/v1/CommandResult';

// What one replica tells the others about an agent connected to it.
export interface PublishedSession {
  hello: Hello__Output;
  status: ProgrammingStatus__Output[];
  configRevision: number;
  connectedSinceMs: number;
}

// An agent connected to another replica.
export interface RemoteSession extends PublishedSession {
  replica: string;
}

export type CommandRunner = (node: string, command: Omit<Command, 'id'>) => Promise<CommandResult__Output>;

// How server replicas share which agents each holds a stream to, and carry a command to the replica
// that holds the agent's. One server alone has none.
export interface AgentDirectory {
  // This replica's name among the replicas, for logs and errors.
  readonly replica: string;
  // What this replica holds of `node` now; undefined once its stream ended.
  publish(node: string, session: PublishedSession | undefined): void;
  // The agents other replicas hold, the newest connection of each node.
  remote(): Map<string, RemoteSession>;
  // Told when remote() changed for `node`.
  onChange(listener: (node: string) => void): void;
  // Runs `command` on the replica holding `node`, within `timeoutMs`.
  send(node: string, command: Omit<Command, 'id'>, timeoutMs: number): Promise<CommandResult__Output>;
  // Carries out commands other replicas send to agents this replica holds.
  serve(run: CommandRunner): void;
}
