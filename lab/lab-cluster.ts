import * as path from 'node:path';
import { createJoinToken } from './credentials';
import type { ManagedProcess } from './managed-process';
import type { LabHost, LabNetwork } from './network';
import { OperatorCtl } from './operator-ctl';

export const AGENT_METRICS_PORT = 9746;

export interface LabClusterOptions {
  // The VTEP each agent announces (default: the host's underlay address).
  vtep?: (host: LabHost) => string;
  // More agent flags.
  agentArgs?: (host: LabHost) => string[];
  // More server flags.
  serverArgs?: string[];
  // The hosts that run a server (default ctrl alone); several are replicas on one store, and every
  // agent and ctl is given all of them. The first is `ctrl`, where ctl runs.
  servers?: string[];
  // The hosts that run an agent (default every host that runs no server).
  agentHosts?: string[];
}

// A server on the lab's host `ctrl` (or replicas on several hosts) and an agent on every other host,
// each agent joined to the others, with data dirs under `dir`; ctl runs in ctrl's namespace with the
// operator's credential.
export class LabCluster extends OperatorCtl {
  readonly agents = new Map<string, ManagedProcess>();
  // Each server host's process.
  readonly replicas = new Map<string, ManagedProcess>();
  readonly hosts: LabHost[];
  // Each host's agent command line, to start it again.
  private readonly agentArgs = new Map<string, string[]>();
  private readonly serverHosts: string[];

  private constructor(
    readonly lab: LabNetwork,
    readonly dir: string,
    options: LabClusterOptions,
  ) {
    super();
    this.serverHosts = options.servers ?? ['ctrl'];
    const agentHosts = options.agentHosts ?? lab.hosts.map((h) => h.name).filter((n) => !this.serverHosts.includes(n));
    this.hosts = agentHosts.map((name) => lab.host(name));
    this.serverArgs = options.serverArgs ?? [];
  }

  private readonly serverArgs: string[];

  static async start(lab: LabNetwork, dir: string, options: LabClusterOptions = {}): Promise<LabCluster> {
    const cluster = new LabCluster(lab, dir, options);
    const { ctrl, hosts } = cluster;
    // The first replica makes the cluster's keys; the others find them in the store.
    for (const host of cluster.serverHosts) await cluster.startServer(host);
    const token = createJoinToken((a) => ctrl.ctl(a), cluster.serverAddr, cluster.serverDir, hosts.length);
    await Promise.all(
      hosts.map((h) => {
        const join = hosts.filter((x) => x !== h).map((x) => `${x.ip}:7946`);
        cluster.agentArgs.set(h.name, [
          ...['--name', h.name, '--vtep', options.vtep?.(h) ?? h.ip, '--server', cluster.ctlServers],
          ...['--data-dir', path.join(dir, h.name), '--join', join.join(',')],
          ...['--metrics', `127.0.0.1:${AGENT_METRICS_PORT}`, '--join-token', token],
          // Each agent its own: agents of one machine would otherwise share the default socket.
          ...['--cni-socket', cluster.cniSocket(h), '--cni-delete-queue', cluster.cniDeleteQueue(h)],
          ...(options.agentArgs?.(h) ?? []),
        ]);
        return cluster.startAgent(h).waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000);
      }),
    );
    return cluster;
  }

  // The server on `host` (again, after it stopped: its data dir is kept).
  async startServer(host = this.serverHosts[0]): Promise<void> {
    const on = this.lab.host(host);
    const server = on.spawnBin('server', 'server', [
      ...['--listen', `${on.ip}:50051`, '--data-dir', this.serverDirOf(host)],
      ...this.serverArgs,
    ]);
    this.replicas.set(host, server);
    await server.waitForLog((r) => r.msg === 'server ready');
  }

  // The first server's process.
  get server(): ManagedProcess {
    return this.replicas.get(this.serverHosts[0])!;
  }

  serverDirOf(host: string): string {
    return host === 'ctrl' ? path.join(this.dir, 'server') : path.join(this.dir, `server-${host}`);
  }

  // Stops a host's agent with the signal and starts it again (its identity stays in its data dir);
  // resolves once it has reconciled its devices.
  async restartAgent(host: LabHost, signal: NodeJS.Signals): Promise<ManagedProcess> {
    await this.agent(host).stop(signal);
    const agent = this.startAgent(host);
    await agent.waitForLog((r) => r.msg === 'reconciled', 30_000);
    return agent;
  }

  // Starts a host's agent (stopped by the caller) with the command line it had, and more variables.
  startAgent(host: LabHost, env: NodeJS.ProcessEnv = {}): ManagedProcess {
    const agent = host.spawnBin('agent', 'node-agent', this.agentArgs.get(host.name)!, env);
    this.agents.set(host.name, agent);
    return agent;
  }

  get ctrl(): LabHost {
    return this.lab.host(this.serverHosts[0]);
  }

  get serverAddr(): string {
    return `${this.ctrl.ip}:50051`;
  }

  // Every server, as agents and ctl are given them.
  override get ctlServers(): string {
    return this.serverHosts.map((h) => `${this.lab.host(h).ip}:50051`).join(',');
  }

  get serverDir(): string {
    return this.serverDirOf(this.serverHosts[0]);
  }

  cniSocket(host: LabHost): string {
    return path.join(this.dir, host.name, 'cni.sock');
  }

  cniDeleteQueue(host: LabHost): string {
    return path.join(this.dir, host.name, 'cni-delete-queue');
  }

  agent(host: LabHost): ManagedProcess {
    return this.agents.get(host.name)!;
  }
}
