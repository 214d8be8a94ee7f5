// A node's state as operators read it (ctl, metric labels): alive, suspect, agent-down (its host still
// forwards), dead (host gone), left.
export const stateName = (state: string) => state.replace('NODE_STATE_', '').toLowerCase().replace('_', '-');
