import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { DEFAULT_ETCD_TUNING, etcdMemberArgs, type EtcdTuning } from './etcd-member-args';
import { parseEndpointStatus, type EtcdStatus } from './etcd-status';
import { eventually } from './eventually';
import type { ManagedProcess } from './managed-process';
import type { LabHost, LabNetwork } from './network';

// program -> the Debian package that provides it, for requirePrograms.
export const ETCD_PROGRAMS = { etcd: 'etcd-server', etcdctl: 'etcd-client', nft: 'nftables' };

export const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;

export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface EtcdClusterOptions extends Partial<EtcdTuning> {
  // The lab hosts the members run on, one each; those the lab lacks are added to its underlay.
  // Default etcd1, etcd2, etcd3.
  hosts?: string[];
  // How long start() and restart() wait for the members to be healthy (default 30 s).
  readyTimeoutMs?: number;
}

export interface EtcdctlOptions {
  // Where etcdctl runs: default the host of the first running member that no partition of this cluster cuts.
  from?: LabHost | EtcdMember;
  // Default: every member's client URL.
  endpoints?: string[];
}

// A member, by object or by its host's name, namespace or underlay address.
export type MemberRef = EtcdMember | string;

export class EtcdMember {
  process!: ManagedProcess;

  constructor(
    readonly host: LabHost,
    readonly dataDir: string,
    private readonly args: string[],
  ) {}

  get name(): string {
    return this.host.name;
  }

  get clientUrl(): string {
    return `http://${this.host.ip}:${ETCD_CLIENT_PORT}`;
  }

  get running(): boolean {
    return this.process.running;
  }

  // Starts etcd; again after a kill it starts from the data dir and rejoins as the member it was.
  start(): void {
    this.process = this.host.spawn('etcd', 'etcd', this.args);
  }
}

// Runs a command in a namespace without blocking the event loop (the lab's other processes keep
// being read meanwhile); never throws: the exit status says how it went.
function execInNamespace(netns: string, command: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, command, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ status, stdout, stderr: stderr || (err?.message ?? '') });
    });
  });
}

// An etcd cluster on a lab's underlay, each member in a namespace of its own, for tests of server
// replicas: who leads, members killed and restarted, members partitioned by nftables on the underlay.
// The members' processes belong to their lab hosts, so LabNetwork.destroy() kills them before it deletes
// the namespaces, also after a failed test; their data dirs are under the `dir` given to start().
export class EtcdCluster {
  // Addresses this cluster's partition() cut, until heal().
  private readonly cut = new Set<string>();

  private constructor(
    readonly lab: LabNetwork,
    readonly members: EtcdMember[],
    private readonly readyTimeoutMs: number,
  ) {}

  static async start(lab: LabNetwork, dir: string, options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const names = options.hosts ?? ['etcd1', 'etcd2', 'etcd3'];
    const hosts = names.map((n) => lab.hosts.find((h) => h.name === n) ?? lab.addHost(n));
    const tuning: EtcdTuning = {
      compactionRetention: options.compactionRetention ?? DEFAULT_ETCD_TUNING.compactionRetention,
      quotaBackendBytes: options.quotaBackendBytes ?? DEFAULT_ETCD_TUNING.quotaBackendBytes,
    };
    const peerUrl = (h: LabHost) => `http://${h.ip}:${ETCD_PEER_PORT}`;
    const initialCluster = hosts.map((h) => ({ name: h.name, peerUrl: peerUrl(h) }));
    const members = hosts.map((h) => {
      const dataDir = path.join(dir, h.name);
      const clientUrl = `http://${h.ip}:${ETCD_CLIENT_PORT}`;
      const clusterToken = `vxgossip-lab-${path.basename(dir)}`;
      const spec = { name: h.name, dataDir, clientUrl, peerUrl: peerUrl(h), initialCluster, clusterToken };
      return new EtcdMember(h, dataDir, etcdMemberArgs(spec, tuning));
    });
    const cluster = new EtcdCluster(lab, members, options.readyTimeoutMs ?? 30_000);
    for (const m of members) m.start();
    await cluster.untilHealthy(members);
    return cluster;
  }

  // Every member's client URL (running or not), as --etcd-endpoints takes them joined with commas.
  endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  member(ref: MemberRef): EtcdMember {
    if (typeof ref !== 'string') return ref;
    const m = this.members.find((x) => x.name === ref || x.host.netns === ref || x.host.ip === ref);
    if (!m) throw new Error(`no etcd member "${ref}" (members: ${this.members.map((x) => x.name).join(', ')})`);
    return m;
  }

  // One member's own view (asked in its own namespace, so a partitioned member answers too); throws
  // when it does not answer.
  async status(ref: MemberRef): Promise<EtcdStatus> {
    const m = this.member(ref);
    const r = await this.etcdctl(['endpoint', 'status', '-w', 'json'], { from: m, endpoints: [m.clientUrl] });
    if (r.status !== 0) throw new Error(`etcd member ${m.name} gave no status: ${r.stderr.trim()}`);
    return parseEndpointStatus(r.stdout)[0];
  }

  // The member that a majority of the cluster follows and that says so itself, once there is one.
  async leader(timeoutMs = 20_000): Promise<EtcdMember> {
    return eventually(
      async () => {
        const running = this.members.filter((m) => m.running);
        const views = await Promise.all(running.map((m) => this.status(m).catch(() => undefined)));
        const followers = (id: string) => views.filter((v) => v?.leaderId === id).length;
        const i = views.findIndex(
          (v) => v && v.leaderId === v.memberId && followers(v.memberId) > this.members.length / 2,
        );
        if (i >= 0) return running[i];
        const seen = running.map((m, j) => `${m.name}: ${views[j] ? `leader ${views[j].leaderId}` : 'no answer'}`);
        throw new Error(`no leader followed by a majority of the ${this.members.length} members (${seen.join('; ')})`);
      },
      timeoutMs,
      250,
    );
  }

  // Kills a member's etcd (SIGKILL: no chance to step down or flush) and waits for it to exit.
  async kill(ref: MemberRef, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.member(ref).process.stop(signal);
  }

  // Starts a member again from its data dir (stopping it first with SIGTERM if it runs) and waits
  // until it serves linearizable reads, i.e. it has rejoined a cluster with a leader.
  async restart(ref: MemberRef): Promise<void> {
    const m = this.member(ref);
    await m.process.stop('SIGTERM');
    m.start();
    await this.untilHealthy([m]);
  }

  // Waits until each member (default every running one) passes `etcdctl endpoint health`, which
  // needs a quorum behind it.
  async untilHealthy(members = this.members.filter((m) => m.running)): Promise<void> {
    await Promise.all(
      members.map((m) =>
        eventually(
          async () => {
            if (!m.running) throw new Error(`etcd member ${m.name} exited:\n${m.process.tail(20)}`);
            const r = await this.etcdctl(['endpoint', 'health'], { from: m, endpoints: [m.clientUrl] });
            if (r.status !== 0) throw new Error(`etcd member ${m.name} is not healthy: ${r.stderr.trim()}`);
          },
          this.readyTimeoutMs,
          250,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\nits last output:\n${m.process.tail(20)}`);
        }),
      ),
    );
  }

  // Cuts a member (or any lab host, namespace or address) off on the underlay, from everyone or only
  // from `from`, until heal(). The cut side keeps running and still answers in its own namespace.
  partition(target: MemberRef, from?: MemberRef[]): void {
    const address = (ref: MemberRef) => (typeof ref === 'string' ? ref : ref.host.ip);
    this.lab.partition([address(target)], from?.map(address));
    const cutHost = this.lab.hosts.find((h) => [h.name, h.netns, h.ip].includes(address(target)));
    this.cut.add(cutHost?.ip ?? address(target));
  }

  heal(): void {
    this.lab.heal();
    this.cut.clear();
  }

  // etcdctl in a lab namespace, with short dial and command timeouts (a later flag in args wins).
  etcdctl(args: string[], options: EtcdctlOptions = {}): Promise<ExecResult> {
    const from = options.from ?? this.members.find((m) => m.running && !this.cut.has(m.host.ip)) ?? this.members[0];
    const host = from instanceof EtcdMember ? from.host : from;
    const endpoints = (options.endpoints ?? this.endpoints()).join(',');
    const flags = ['--endpoints', endpoints, '--dial-timeout', '2s', '--command-timeout', '5s'];
    return execInNamespace(host.netns, 'etcdctl', [...flags, ...args], 30_000);
  }

  // Kills every member (the lab's destroy() does too).
  async stop(): Promise<void> {
    await Promise.all(this.members.filter((m) => m.running).map((m) => m.process.stop('SIGKILL')));
  }
}
