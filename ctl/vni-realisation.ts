import type { Node__Output } from '../generated/vxgossip/v1/Node';
import type { NodeEvent__Output } from '../generated/vxgossip/v1/NodeEvent';
import { stateName } from '../common/node-state';

// A VNI change the server made at `revision`: realised on a host once its agent has applied that
// configuration revision (or a later one) with the VNI's devices ready, or, after a delete, gone.
export interface WaitGoal {
  vni: number;
  revision: number;
  deleted: boolean;
}

export interface HostVerdict {
  node: string;
  // Whether the wait is for this host: its agent is connected, or gossip still sees it alive (or
  // suspects it). An agent that is down (agent-down, dead, left, or not heard from) cannot realise
  // anything; it is named, not waited for.
  live: boolean;
  done: boolean;
  // What the host reports, as the operator reads it.
  reports: string;
}

const LIVE_WITHOUT_STREAM = new Set(['NODE_STATE_ALIVE', 'NODE_STATE_SUSPECT']);

export function judgeHost(goal: WaitGoal, n: Node__Output): HostVerdict {
  const verdict = (live: boolean, done: boolean, reports: string) => ({ node: n.name, live, done, reports });
  if (!n.connected && !LIVE_WITHOUT_STREAM.has(n.state)) return verdict(false, false, stateName(n.state));
  // Its agent reports over its stream to the server: without one, nothing says what it has.
  if (!n.connected) return verdict(true, false, `not connected to the server (gossip: ${stateName(n.state)})`);
  const revision = Number(n.configRevision);
  if (revision < goal.revision)
    return verdict(true, false, `at configuration revision ${revision}, not yet ${goal.revision}`);
  const status = n.programming.find((p) => p.vni === goal.vni);
  if (goal.deleted) return status ? verdict(true, false, `still has VNI ${goal.vni}`) : verdict(true, true, 'removed');
  if (!status) return verdict(true, false, `has not reported VNI ${goal.vni}`);
  if (status.error) return verdict(true, false, `VNI ${goal.vni}: ${status.error}`);
  if (!status.devicesReady) return verdict(true, false, `devices of VNI ${goal.vni} not ready`);
  return verdict(true, true, 'ready');
}

// The server's node watch (ctl watch nodes): a snapshot, then a node again whenever its connection,
// gossip state, configuration revision or programming status changes.
export interface NodeEvents {
  on(event: 'data', listener: (e: NodeEvent__Output) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'end', listener: () => void): this;
  cancel(): void;
}

export interface WaitOutcome {
  realised: boolean;
  hosts: HostVerdict[];
}

// Judges every host again at each change the server pushes (no polling), from the end of the
// snapshot on, until every live host is done or the deadline passes.
export function awaitRealisation(goal: WaitGoal, events: NodeEvents, timeoutMs: number): Promise<WaitOutcome> {
  const nodes = new Map<string, Node__Output>();
  let snapshotDone = false;
  const judged = () => [...nodes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => judgeHost(goal, n));
  return new Promise<WaitOutcome>((resolve, reject) => {
    const finish = (outcome: WaitOutcome | Error) => {
      clearTimeout(timer);
      events.cancel();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => finish({ realised: false, hosts: judged() }), timeoutMs);
    const check = () => {
      const hosts = judged();
      if (hosts.every((h) => !h.live || h.done)) finish({ realised: true, hosts });
    };
    events.on('data', (e) => {
      if (e.node && e.type !== 'EVENT_TYPE_REMOVED') nodes.set(e.node.name, e.node);
      if (e.node && e.type === 'EVENT_TYPE_REMOVED') nodes.delete(e.node.name);
      if (e.type === 'EVENT_TYPE_SNAPSHOT_END') snapshotDone = true;
      if (snapshotDone) check();
    });
    events.on('error', (err) => finish(err));
    events.on('end', () => finish(new Error('the server ended its node watch before every live host realised it')));
  });
}
