import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createJoinToken, operatorDir } from '../../lab/credentials';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import type { RogueCredentials } from '../../lab/rogue-agent-client';
import { OperatorCtl } from '../../lab/operator-ctl';

export const AGENT_METRICS_PORT = 9746;
export const SERVER_METRICS_PORT = 9747;
export const VNI = 42;
const NODES = ['h1', 'h2', 'h3'];

export interface ClusterOptions {
  // Gossip in clear text (the opt-out); by default it is encrypted with the key handed out at enrolment.
  insecureGossip?: boolean;
}

export interface Workload {
  host: string;
  netns: string;
  ip: string;
  mac: string;
}

// A server, three agents with one workload each in VNI 42, and a host for the attacker, all in
// namespaces of one lab; everything an attack test needs to look at or drive.
export class AttackCluster extends OperatorCtl {
  readonly agents = new Map<string, ManagedProcess>();
  readonly workloads = new Map<string, Workload>();
  server: ManagedProcess | undefined;

  constructor(
    readonly lab: LabNetwork,
    readonly dataDir: string,
    readonly options: ClusterOptions,
  ) {
    super();
  }

  get serverDir(): string {
    return path.join(this.dataDir, 'server');
  }

  // The cluster's gossip key, as an insider who stole it would hold it; none when gossip is clear.
  get gossipKey(): string | undefined {
    if (this.options.insecureGossip) return undefined;
    return (
      JSON.parse(fs.readFileSync(path.join(this.serverDir, 'pki', 'gossip-keyring.json'), 'utf8')) as string[]
    )[0];
  }

  get ctrl(): LabHost {
    return this.lab.host('ctrl');
  }

  get rogue(): LabHost {
    return this.lab.host('rogue');
  }

  get hosts(): LabHost[] {
    return NODES.map((n) => this.lab.host(n));
  }

  host(name: string): LabHost {
    return this.lab.host(name);
  }

  get serverAddr(): string {
    return `${this.ctrl.ip}:50051`;
  }

  gossipJoin(except?: string): string[] {
    return this.hosts.filter((h) => h.name !== except).map((h) => `${h.ip}:7946`);
  }

  // What a client presents: 'none' (TLS without a certificate), the certificate a node got at
  // enrolment, or the operator's ('ctl').
  credentials(who: string): RogueCredentials {
    const operator = operatorDir(this.serverDir);
    const ca = path.join(operator, 'ca.crt');
    if (who === 'none') return { ca };
    if (who === 'ctl')
      return { ca, cert: path.join(operator, 'operator.crt'), key: path.join(operator, 'operator.key') };
    const identity = path.join(this.dataDir, who, 'identity');
    return { ca, cert: path.join(identity, 'node.crt'), key: path.join(identity, 'node.key') };
  }

  ctlJson<T = any>(...args: string[]): T {
    return JSON.parse(this.ctl('-o', 'json', ...args)) as T;
  }

  attach(host: string, label: string, ip: string): Workload {
    const netns = this.lab.namespace(label);
    const e = this.ctlJson<{ mac: string }>(
      'endpoint',
      'attach',
      '--node',
      host,
      '--vni',
      String(VNI),
      '--netns',
      netns,
      '--ip',
      `${ip}/24`,
    );
    return { host, netns, ip, mac: e.mac };
  }

  // One overlay ping from a workload to another; true if answered.
  ping(from: Workload, to: Workload): boolean {
    return this.lab.execIn(from.netns, 'ping', ['-c', '1', '-W', '1', to.ip]).status === 0;
  }

  // The destination each host's vxlan device has for a MAC (undefined: none).
  kernelDst(host: LabHost, mac: string): string | undefined {
    const entries = JSON.parse(host.exec('bridge', ['-j', 'fdb', 'show', 'dev', `vxlan${VNI}`]) || '[]') as Array<{
      mac: string;
      dst?: string;
    }>;
    return entries.find((e) => e.mac === mac && e.dst)?.dst;
  }

  // An HTTP GET on a daemon's metrics listener from inside its namespace.
  scrape(host: LabHost, port: number): string {
    return host.exec(process.execPath, [
      '-e',
      `fetch('http://127.0.0.1:${port}/metrics').then(async (r) => process.stdout.write(await r.text()))`,
    ]);
  }

  logs(): string {
    return this.lab.hosts.map((h) => h.logsOfProcesses()).join('\n');
  }

  async destroy(): Promise<void> {
    try {
      await this.lab.destroy();
    } finally {
      removeTempDir(this.dataDir);
    }
  }
}

function startServer(c: AttackCluster): Promise<unknown> {
  c.server = c.ctrl.spawnBin('server', 'server', [
    '--listen',
    c.serverAddr,
    '--data-dir',
    c.serverDir,
    '--metrics',
    `127.0.0.1:${SERVER_METRICS_PORT}`,
  ]);
  return c.server.waitForLog((r) => r.msg === 'server ready', 15_000);
}

function startAgent(c: AttackCluster, h: LabHost, token: string): Promise<unknown> {
  const agent = h.spawnBin('agent', 'node-agent', [
    '--name',
    h.name,
    '--vtep',
    h.ip,
    '--server',
    c.serverAddr,
    '--data-dir',
    path.join(c.dataDir, h.name),
    '--join',
    c.gossipJoin(h.name).join(','),
    '--metrics',
    `127.0.0.1:${AGENT_METRICS_PORT}`,
    '--join-token',
    token,
    // The attacks do not go through the local plugin sockets; agents of one machine would share them.
    ...['--cni-socket', 'off', '--docker-plugin-dir', 'off'],
    ...(c.options.insecureGossip ? ['--insecure-gossip'] : []),
  ]);
  c.agents.set(h.name, agent);
  return agent.waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000);
}

// Every workload reaches every other one, and every host's kernel points each remote workload's MAC
// at its host: the baseline an attack must leave intact.
export async function awaitConverged(c: AttackCluster, timeoutMs = 30_000): Promise<void> {
  const all = [...c.workloads.values()];
  await eventually(() => {
    for (const w of all) {
      for (const h of c.hosts.filter((x) => x.name !== w.host))
        assert.equal(c.kernelDst(h, w.mac), c.host(w.host).ip, `${h.name} points ${w.mac} at ${w.host}`);
    }
    for (const a of all) for (const b of all) if (a !== b) assert.ok(c.ping(a, b), `ping ${a.host} -> ${b.host}`);
  }, timeoutMs);
}

// The one place a cluster is set up; secure enrolment will replace how its members get their
// identities, not what the tests look at.
export async function bringUpCluster(options: ClusterOptions = {}): Promise<AttackCluster> {
  const lab = LabNetwork.create(['ctrl', ...NODES, 'rogue']);
  const c = new AttackCluster(lab, makeTempDir('attacks'), options);
  try {
    await startServer(c);
    const token = createJoinToken((a) => c.ctrl.ctl(a), c.serverAddr, c.serverDir, NODES.length);
    await Promise.all(c.hosts.map((h) => startAgent(c, h, token)));
    c.ctl('vni', 'create', String(VNI));
    for (const h of c.hosts) await eventually(() => assert.ok(h.link(`br${VNI}`), `br${VNI} on ${h.name}`), 20_000);
    c.hosts.forEach((h, i) => c.workloads.set(h.name, c.attach(h.name, `ws-${h.name}`, `10.42.0.${i + 1}`)));
    await awaitConverged(c);
    return c;
  } catch (err) {
    const logs = c.logs();
    await c.destroy();
    throw new Error(`cluster bring-up failed: ${(err as Error).message}\n${logs}`);
  }
}
