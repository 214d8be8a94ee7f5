import type { Column } from './resource';
import { NodeView, programmedOfDesired, stateWithAge } from './node';
import { cell } from './values';

// One host's health as `ctl status` judges it: in sync when it holds every entry it wants, its
// devices are ready and no kernel entry of another's stands in the way.
export interface HostHealthView {
  node: string;
  state: string;
  stateSince: string | null;
  connected: boolean;
  desired: number;
  programmed: number;
  inSync: boolean;
  failedVnis: number[];
  conflicts: Array<{ vni: number; kind: string; address: string; found: string }>;
}

export interface StatusView {
  healthy: boolean;
  // Members by state word: { alive: 2, "agent-down": 1 }.
  members: Record<string, number>;
  hosts: HostHealthView[];
}

export function statusView(nodes: NodeView[]): StatusView {
  const members: Record<string, number> = {};
  for (const n of nodes) members[n.state] = (members[n.state] ?? 0) + 1;
  const hosts = nodes.map((n): HostHealthView => {
    const { desired, programmed } = programmedOfDesired(n);
    const failedVnis = n.programming.filter((p) => !p.devicesReady).map((p) => p.vni);
    const conflicts = n.programming.flatMap((p) => p.conflicts.map((c) => ({ vni: p.vni, ...c })));
    return {
      node: n.name,
      state: n.state,
      stateSince: n.stateSince,
      connected: n.connected,
      desired,
      programmed,
      inSync: desired === programmed && failedVnis.length === 0 && conflicts.length === 0,
      failedVnis,
      conflicts,
    };
  });
  // No hosts is no network; a host the server knows but that has not reconnected is not serving.
  const healthy = hosts.length > 0 && hosts.every((h) => h.state === 'alive' && h.connected && h.inSync);
  return { healthy, members, hosts };
}

export const hostHealthColumns: Array<Column<HostHealthView>> = [
  { header: 'NODE', cell: (h) => h.node },
  { header: 'STATE', cell: (h) => stateWithAge(h) },
  { header: 'SERVER', cell: (h) => (h.connected ? 'connected' : 'disconnected') },
  { header: 'PROGRAMMED/DESIRED', cell: (h) => `${h.programmed}/${h.desired}` },
  { header: 'SYNC', cell: (h) => (h.inSync ? 'yes' : 'NO') },
  { header: 'FAILED VNIS', cell: (h) => h.failedVnis.join(',') || '-' },
  { header: 'STATE SINCE', cell: (h) => cell(h.stateSince), wide: true },
];
