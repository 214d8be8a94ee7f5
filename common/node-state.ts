// A node's state as operators read it (ctl, metric labels): alive, suspect, agent-down (its host still
// forwards), dead (host gone), left; unknown for a node the server knows that has not reported since
// the server started.
export const stateName = (state: string) =>
  state === 'NODE_STATE_UNSPECIFIED' ? 'unknown' : state.replace('NODE_STATE_', '').toLowerCase().replace('_', '-');
