import * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../../common/validation';
import type { Command__Output } from '../../generated/vxgossip/v1/Command';
import type { CommandResult } from '../../generated/vxgossip/v1/CommandResult';
import { AgentError, AgentErrorKind } from '../agent-errors';

type Handler = (command: Command__Output) => Promise<Omit<CommandResult, 'id'>> | Omit<CommandResult, 'id'>;

// One handler per command the server routes to agents (attach, detach, keyring, duplicates).
export type CommandHandlers = Partial<Record<NonNullable<Command__Output['cmd']>, Handler>>;

const CODES: Record<AgentErrorKind, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  'not-found': grpc.status.NOT_FOUND,
  'already-exists': grpc.status.ALREADY_EXISTS,
  'failed-precondition': grpc.status.FAILED_PRECONDITION,
  'resource-exhausted': grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  unimplemented: grpc.status.UNIMPLEMENTED,
};

// Runs a command and answers it; a failure becomes the gRPC code the server answers its caller with.
export async function dispatchCommand(
  command: Command__Output,
  handlers: CommandHandlers,
  agentVersion: string,
): Promise<CommandResult> {
  const id = command.id;
  try {
    const handler = command.cmd && handlers[command.cmd];
    if (!handler)
      throw new AgentError('unimplemented', `agent ${agentVersion} does not handle ${command.cmd} commands`);
    return { id, ...(await handler(command)) };
  } catch (err) {
    return { id, error: (err as Error).message, code: codeOf(err) };
  }
}

function codeOf(err: unknown): grpc.status {
  if (err instanceof AgentError) return CODES[err.kind];
  if (err instanceof ValidationError) return grpc.status.INVALID_ARGUMENT;
  return grpc.status.INTERNAL;
}
