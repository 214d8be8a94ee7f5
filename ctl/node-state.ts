import type { Node__Output } from '../generated/vxgossip/v1/Node';
import { stateName } from '../common/node-state';

const age = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
};

// The state with how long it has lasted, when it is not plain alive: "agent-down 42s".
export function stateWithAge(n: Pick<Node__Output, 'state' | 'stateSinceMs'>, nowMs = Date.now()): string {
  const name = stateName(n.state);
  const since = Number(n.stateSinceMs);
  return name === 'alive' || since === 0 ? name : `${name} ${age(nowMs - since)}`;
}
