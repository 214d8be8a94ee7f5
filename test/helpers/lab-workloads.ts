import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from '../../lab/eventually';
import type { LabHost } from '../../lab/network';
import type { LabCluster } from '../../lab/lab-cluster';

const execFileAsync = promisify(execFile);

// Workloads in namespaces of their own, attached through ctl to the VNIs of a LabCluster, and what
// the isolation tests read of them and of their hosts.

// A VNI workloads are attached to: workload i gets the address host(i).
export interface WorkloadVni {
  vni: number;
  mode: 'l2' | 'l3';
  subnet: string;
  host: (i: number) => string;
}

export interface Workload {
  name: string;
  vni: number;
  host: LabHost;
  netns: string;
  // Without the prefix length.
  ip: string;
}

// Attaches a workload of each VNI at each placement (host and the last part of its address).
export function attachWorkloads(
  cluster: LabCluster,
  vnis: WorkloadVni[],
  placements: Array<readonly [number, LabHost]>,
): Workload[] {
  const out: Workload[] = [];
  for (const v of vnis) {
    for (const [i, host] of placements) {
      const name = `w${v.vni}-${i}`;
      const netns = cluster.lab.namespace(name);
      const prefix = v.subnet.split('/')[1];
      cluster.ctl(
        ...['endpoint', 'attach', '--node', host.name, '--vni', String(v.vni)],
        ...['--netns', netns, '--ip', `${v.host(i)}/${prefix}`],
      );
      // An L2 workload has no gateway: its default route sends everything onto its segment.
      if (v.mode === 'l2') cluster.lab.execIn(netns, 'ip', ['route', 'add', 'default', 'dev', 'eth0']);
      out.push({ name, vni: v.vni, host, netns, ip: v.host(i) });
    }
  }
  return out;
}

export async function pings(from: Workload, to: Workload, wait = 1): Promise<boolean> {
  try {
    await execFileAsync('ip', ['netns', 'exec', from.netns, 'ping', '-c', '1', '-W', String(wait), to.ip]);
    return true;
  } catch {
    return false;
  }
}

// The host side of a workload's veth, found by the alias the agent records the endpoint in.
export function hostVeth(w: Workload): string {
  const links = JSON.parse(w.host.exec('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string; ifalias?: string }>;
  const link = links.find((l) => l.ifalias?.startsWith('vxgossip:ep ') && l.ifalias.includes(`"netns":"${w.netns}"`));
  assert.ok(link, `no veth for ${w.name} on ${w.host.name}`);
  return link.ifname;
}

// `ip rule` lines of ours (proto 77), without the priority's colon, e.g. "770 from all iif vxe.. lookup N".
export const rulesOf = (h: LabHost, family: '-4' | '-6') =>
  h
    .exec('ip', [family, 'rule', 'show'])
    .split('\n')
    .filter((l) => /proto 77/.test(l))
    .map((l) => l.replace(':', '').replace(/\s+/g, ' ').replace(' proto 77', '').trim());
export const routesOf = (h: LabHost, family: '-4' | '-6', t: number | string) =>
  h
    .exec('ip', [family, 'route', 'show', 'table', String(t)])
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.replace(/\s+/g, ' ').trim());

// Every workload reaches every other of its VNI, on its host and across hosts (retried while the
// agents converge).
export async function assertReachWithinVnis(workloads: Workload[]): Promise<void> {
  for (const a of workloads)
    await Promise.all(
      workloads
        .filter((b) => b !== a && b.vni === a.vni)
        .map((b) => eventually(async () => assert.ok(await pings(a, b, 2), `${a.name} -> ${b.name}`), 30_000, 500)),
    );
}

// The pairs of workloads of different VNIs (of one address family) that reach each other.
export async function leaksAcrossVnis(workloads: Workload[]): Promise<string[]> {
  const sameFamily = (a: Workload, b: Workload) => a.ip.includes(':') === b.ip.includes(':');
  const leaks: string[] = [];
  for (const a of workloads) {
    const others = workloads.filter((b) => b.vni !== a.vni && sameFamily(a, b));
    const reached = await Promise.all(others.map((b) => pings(a, b)));
    others.forEach((b, i) => reached[i] && leaks.push(`${a.name} -> ${b.name}`));
  }
  return leaks;
}

// What a `ping -D -O` run printed: its summary line, echoes sent and answered, and the echoes it
// reported unanswered.
export function pingOutcome(logs: string): { summary: string; sent: number; received: number; unanswered: string[] } {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(logs);
  assert.ok(m, logs);
  const unanswered = logs.split('\n').filter((l) => /no answer yet/.test(l));
  return { summary: m[0], sent: Number(m[1]), received: Number(m[2]), unanswered };
}
