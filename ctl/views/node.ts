import type { Node__Output } from '../../generated/vxgossip/v1/Node';
import type { ProgrammingStatus__Output } from '../../generated/vxgossip/v1/ProgrammingStatus';
import { stateName } from '../../common/node-state';
import type { Resource } from './resource';
import { cell, int64, orNull, time, yesNo } from './values';

// What a host wants programmed for one VNI and what it holds; conflicts are kernel entries that are
// not vxgossip's, left in place.
export interface ProgrammingView {
  vni: number;
  desired: number;
  programmed: number;
  devicesReady: boolean;
  error: string | null;
  conflicts: Array<{ kind: string; address: string; found: string }>;
}

// A node as ctl prints it. state is the word the table shows (alive, suspect, agent-down, dead,
// left; unknown for one that has not reported since the server started).
export interface NodeView {
  name: string;
  state: string;
  stateSince: string | null;
  vtep: string | null;
  connected: boolean;
  vnis: number[];
  gossipAddress: string | null;
  incarnation: number;
  agentVersion: string | null;
  configRevision: number;
  lastSeen: string | null;
  programming: ProgrammingView[];
}

export function programmingView(p: ProgrammingStatus__Output): ProgrammingView {
  return {
    vni: p.vni,
    desired: p.desired,
    programmed: p.programmed,
    devicesReady: p.devicesReady,
    error: orNull(p.error),
    conflicts: p.conflicts.map((c) => ({ kind: c.kind, address: c.address, found: c.found })),
  };
}

export function nodeView(n: Node__Output): NodeView {
  return {
    name: n.name,
    state: stateName(n.state),
    stateSince: time('stateSinceMs', n.stateSinceMs),
    vtep: orNull(n.vtep),
    connected: n.connected,
    vnis: n.vnis,
    gossipAddress: orNull(n.gossipAddress),
    incarnation: int64('incarnation', n.incarnation),
    agentVersion: orNull(n.agentVersion),
    configRevision: int64('configRevision', n.configRevision),
    lastSeen: time('lastSeenMs', n.lastSeenMs),
    programming: n.programming.map(programmingView),
  };
}

const age = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
};

// The state with how long it has lasted, when it is not plain alive: "agent-down 42s".
export function stateWithAge(n: Pick<NodeView, 'state' | 'stateSince'>, nowMs = Date.now()): string {
  return n.state === 'alive' || n.stateSince === null ? n.state : `${n.state} ${age(nowMs - Date.parse(n.stateSince))}`;
}

// Entries the node holds of those it wants, over every VNI.
export function programmedOfDesired(n: Pick<NodeView, 'programming'>): { programmed: number; desired: number } {
  return {
    desired: n.programming.reduce((s, p) => s + p.desired, 0),
    programmed: n.programming.reduce((s, p) => s + p.programmed, 0),
  };
}

const progress = (n: NodeView) => {
  const { programmed, desired } = programmedOfDesired(n);
  return `${programmed}/${desired}`;
};

export const nodeResource: Resource<NodeView> = {
  kind: 'node',
  name: (n) => n.name,
  columns: [
    { header: 'NAME', cell: (n) => n.name },
    { header: 'STATE', cell: (n) => stateWithAge(n) },
    { header: 'VTEP', cell: (n) => cell(n.vtep) },
    { header: 'CONNECTED', cell: (n) => yesNo(n.connected) },
    { header: 'VNIS', cell: (n) => n.vnis.join(',') || '-' },
    { header: 'PROGRAMMED/DESIRED', cell: progress },
    { header: 'GOSSIP ADDRESS', cell: (n) => cell(n.gossipAddress), wide: true },
    { header: 'INCARNATION', cell: (n) => n.incarnation, wide: true },
    { header: 'AGENT VERSION', cell: (n) => cell(n.agentVersion), wide: true },
    { header: 'CONFIG REVISION', cell: (n) => n.configRevision, wide: true },
    { header: 'LAST SEEN', cell: (n) => cell(n.lastSeen), wide: true },
  ],
};
