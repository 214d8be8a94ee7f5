import type { FdbEvent__Output } from '../../generated/vxgossip/v1/FdbEvent';
import type { NodeEvent__Output } from '../../generated/vxgossip/v1/NodeEvent';
import { FdbEntryView, fdbEntryView } from './fdb';
import { NodeView, nodeView, programmedOfDesired, stateWithAge } from './node';
import { int64 } from './values';

// What `ctl watch` prints per event. type: snapshot (part of the initial state), snapshot-end (the
// rest are live changes), added, updated, removed.
const eventType = (t: string) => t.replace('EVENT_TYPE_', '').toLowerCase().replace('_', '-');

export interface FdbEventView {
  type: string;
  revision: number;
  entry: FdbEntryView | null;
}

export function fdbEventView(e: FdbEvent__Output): FdbEventView {
  return { type: eventType(e.type), revision: int64('revision', e.revision), entry: e.entry && fdbEntryView(e.entry) };
}

export function fdbEventLine(e: FdbEventView): string {
  if (!e.entry) return `-- ${e.type} (revision ${e.revision})`;
  const x = e.entry;
  return `${e.type.padEnd(8)} vni ${x.vni} ${x.mac} -> ${x.vtep} (${x.node}, ${x.kind}) rev ${e.revision}`;
}

export interface NodeEventView {
  type: string;
  node: NodeView | null;
}

export function nodeEventView(e: NodeEvent__Output): NodeEventView {
  return { type: eventType(e.type), node: e.node && nodeView(e.node) };
}

export function nodeEventLine(e: NodeEventView): string {
  if (!e.node) return `-- ${e.type}`;
  const n = e.node;
  const { programmed, desired } = programmedOfDesired(n);
  return `${e.type.padEnd(8)} ${n.name} ${stateWithAge(n)} ${n.connected ? 'connected' : 'disconnected'} ${programmed}/${desired}`;
}
