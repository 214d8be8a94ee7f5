import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';

// The checks that gate readiness (server is informational).
const GATES = ['kernel', 'gossip', 'vnis'];

export interface ReadinessInputs {
  kernelSynced: boolean;
  sweepAllowed: boolean;
  join: string[];
  anyPeerAlive: boolean;
  serverConnected: boolean;
  server: string;
  statuses: ProgrammingStatus[];
}

// Whether this host forwards on a trustworthy table for every VNI: the kernel has been reconciled once,
// gossip has synchronised with a peer (or has none to wait for), and every configured VNI is realised
// (a VNI that cannot be is named, so an operator sees which). The server link is reported but does
// not gate readiness: the agent works without the server. CNI's STATUS reads only kernel and gossip:
// a VNI that cannot be realised must not stop containers on the others.
export function readiness(r: ReadinessInputs): { ready: boolean; checks: Record<string, string> } {
  const gossip =
    r.join.length > 0 && !r.anyPeerAlive
      ? `no peer answering (--join ${r.join.join(',')})`
      : r.sweepAllowed
        ? 'ok'
        : 'synchronising with a peer';
  const failed = r.statuses.filter((s) => !s.devicesReady);
  const checks: Record<string, string> = {
    kernel: r.kernelSynced ? 'ok' : 'first reconcile pass not finished',
    gossip,
    server: r.serverConnected ? 'ok' : `not connected to ${r.server} (informational)`,
    vnis: failed.length === 0 ? 'ok' : failed.map((s) => `VNI ${s.vni} not realised: ${s.error}`).join('; '),
  };
  return { ready: GATES.every((k) => checks[k] === 'ok'), checks };
}
