import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import type { LabCluster } from '../../lab/lab-cluster';
import type { LabHost } from '../../lab/network';

export interface PluginRun {
  status: number;
  // The result or error JSON on stdout, parsed; undefined when stdout is empty.
  json: Record<string, unknown> | undefined;
  stderr: string;
}

// bin/vxgossip-cni run inside a lab host exactly as a runtime runs a plugin: the CNI_* variables in
// its environment, the network configuration on stdin, the answer on stdout.
export function runCniPlugin(host: LabHost, env: Record<string, string>, config: Record<string, unknown>): PluginRun {
  const vars = Object.entries({ CNI_PATH: '/usr/lib/cni', ...env }).map(([k, v]) => `${k}=${v}`);
  const args = ['-i', ...vars, process.execPath, path.join(repoRoot, 'bin', 'vxgossip-cni')];
  try {
    const stdout = host.exec('env', args, JSON.stringify(config));
    return { status: 0, json: stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined, stderr: '' };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    const out = (e.stdout ?? '').trim();
    return {
      status: e.status ?? -1,
      json: out ? (JSON.parse(out) as Record<string, unknown>) : undefined,
      stderr: e.stderr ?? '',
    };
  }
}

// A network configuration as /etc/cni/net.d holds it, for a host's agent in the lab.
export function cniConfig(cluster: LabCluster, host: LabHost, vni: number, over: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: `net${vni}`,
    type: 'vxgossip',
    vni,
    agentSocket: cluster.cniSocket(host),
    deleteQueue: cluster.cniDeleteQueue(host),
    ...over,
  };
}
