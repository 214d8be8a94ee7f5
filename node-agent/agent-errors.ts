// What an agent-side operation can fail with, in the agent's own terms; command dispatch turns
// these into gRPC status codes for the caller, so the kernel side knows nothing of gRPC.
export type AgentErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'resource-exhausted'
  | 'unavailable'
  | 'unimplemented';

export class AgentError extends Error {
  override readonly name = 'AgentError';

  constructor(
    readonly kind: AgentErrorKind,
    message: string,
  ) {
    super(message);
  }
}
