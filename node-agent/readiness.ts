import type { ProgrammingStatus } from '../generated/vxgossip/v1/ProgrammingStatus';

export interface ReadinessInputs {
  kernelSynced: boolean;
  sweepAllowed: boolean;
  join: string[];
  anyPeerAlive: boolean;
  serverConnected: boolean;
  server: string;
  statuses: ProgrammingStatus[];
}

// Whether this host forwards on a trustworthy table: the kernel has been reconciled once and gossip
// has synchronised with a peer (or has none to wait for). The server link and per-VNI device errors
// are reported but do not gate readiness: the agent works without the server, and a VNI that cannot
// be realised does not stop the others.
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
    vnis: failed.length === 0 ? 'ok' : failed.map((s) => `VNI ${s.vni}: ${s.error}`).join('; '),
  };
  return { ready: checks.kernel === 'ok' && checks.gossip === 'ok', checks };
}
