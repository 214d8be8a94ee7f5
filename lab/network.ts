import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManagedProcess } from './managed-process';
import { HEAL_SCRIPT, partitionScript, runNft } from './underlay-partition';
import { repoRoot } from '../common/paths';

// RFC 2544's benchmarking range: never routed, so test traffic cannot leave the namespaces.
const UNDERLAY_PREFIX = '198.18.0';
// Runs sharing a machine can keep apart (and clean up only their own) with a prefix of their own.
const DEFAULT_NETNS_PREFIX = 'vxgt';

// One link as `ip -d -j link show` prints it: iproute2's JSON, which callers reach into field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- iproute2 publishes no schema to type it against
export type IpLinkJson = Record<string, any>;

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Each lab host's agents serve their local plugin sockets under LAB_SOCKET_ROOT/<its namespace>.
const LAB_SOCKET_ROOT = '/run/vxgossip-lab';

// Namespaces are named <prefix>-<pid>-<net>-<host>; those of a run with this prefix that died are
// removed first.
function removeStaleNamespaces(prefix: string): void {
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${prefix}-(\\d+)-`).exec(name);
    if (m && !pidAlive(Number(m[1]))) {
      ip(['netns', 'delete', name]);
      fs.rmSync(path.join(LAB_SOCKET_ROOT, name), { recursive: true, force: true });
    }
  }
}

let networks = 0;

export class LabHost {
  private readonly processes: ManagedProcess[] = [];

  constructor(
    readonly name: string,
    readonly netns: string,
    readonly ip: string,
  ) {}

  // Runs a command inside the host and returns its stdout; throws with stderr on failure.
  exec(command: string, args: string[], input?: string): string {
    try {
      return execFileSync('ip', ['netns', 'exec', this.netns, command, ...args], {
        encoding: 'utf8',
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: 30_000,
      });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; status?: number; message: string };
      const error = new Error(
        `[${this.name}] ${command} ${args.join(' ')} exited ${e.status}: ${(e.stderr || e.message).trim()}`,
      );
      Object.assign(error, { status: e.status, stdout: e.stdout ?? '', stderr: e.stderr ?? '' });
      throw error;
    }
  }

  // Like exec, but returns exit status and both streams instead of throwing.
  run(command: string, args: string[]): { status: number; stdout: string; stderr: string } {
    try {
      return { status: 0, stdout: this.exec(command, args), stderr: '' };
    } catch (err) {
      const e = err as { status?: number; stdout: string; stderr: string };
      return { status: e.status ?? -1, stdout: e.stdout, stderr: e.stderr };
    }
  }

  // `ip -d -j link show NAME` as an object, or undefined if the link does not exist.
  link(name: string): IpLinkJson | undefined {
    const r = this.run('ip', ['-d', '-j', 'link', 'show', 'dev', name]);
    if (r.status !== 0) return undefined;
    return (JSON.parse(r.stdout) as IpLinkJson[])[0];
  }

  spawn(label: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ManagedProcess {
    const proc = new ManagedProcess(
      `${this.name}/${label}`,
      'ip',
      ['netns', 'exec', this.netns, command, ...args],
      env,
    );
    this.processes.push(proc);
    return proc;
  }

  // Our own executables (bin/server, bin/node-agent, bin/ctl) run inside the host.
  spawnBin(label: string, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): ManagedProcess {
    const local = bin === 'node-agent' ? this.agentLocalSockets(args, env) : [];
    return this.spawn(label, process.execPath, [path.join(repoRoot, 'bin', bin), ...args, ...local], env);
  }

  // Where this host's agents serve the CNI and Docker plugins (unless a test names its own): a directory
  // of the host's, as on a machine of its own. Left at the defaults, every agent of the lab would share
  // /run/docker/plugins, and a socket an agent killed with SIGKILL leaves there makes every Docker engine
  // of this machine retry it for seconds on each command.
  get localSocketDir(): string {
    return path.join(LAB_SOCKET_ROOT, this.netns);
  }

  private agentLocalSockets(args: string[], env: NodeJS.ProcessEnv): string[] {
    const given = (flag: string) =>
      args.includes(flag) || `VXGOSSIP_AGENT_${flag.slice(2).replace(/-/g, '_').toUpperCase()}` in env;
    return [
      ...(given('--cni-socket') ? [] : ['--cni-socket', path.join(this.localSocketDir, 'cni.sock')]),
      ...(given('--cni-delete-queue')
        ? []
        : ['--cni-delete-queue', path.join(this.localSocketDir, 'cni-delete-queue')]),
      ...(given('--docker-plugin-dir')
        ? []
        : ['--docker-plugin-dir', path.join(this.localSocketDir, 'docker-plugins')]),
    ];
  }

  ctl(args: string[]): { status: number; stdout: string; stderr: string } {
    return this.run(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), ...args]);
  }

  async stopProcesses(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL')));
  }

  logsOfProcesses(): string {
    return this.processes.map((p) => `--- ${p.label} ---\n${p.tail(60)}`).join('\n');
  }
}

// Hosts as network namespaces, each with eth0 on a shared underlay bridge that lives in a namespace
// of its own: nothing touches the root namespace's interfaces.
export class LabNetwork {
  readonly hosts: LabHost[] = [];
  private readonly underlayNetns: string;
  // Extra namespaces (endpoints attached to the overlay): removed with the lab.
  private readonly extraNetns: string[] = [];
  private readonly extraProcesses: ManagedProcess[] = [];
  // Host addresses are never reused: a host added later gets the next one.
  private hostsCreated = 0;
  private mtu = 1500;

  private constructor(private readonly id: string) {
    this.underlayNetns = `${id}-ul`;
  }

  // prefix: of every namespace name (default $VXGOSSIP_LAB_PREFIX, else vxgt); letters and digits.
  static create(hostNames: string[], options: { mtu?: number; prefix?: string } = {}): LabNetwork {
    const prefix = options.prefix ?? (process.env.VXGOSSIP_LAB_PREFIX || DEFAULT_NETNS_PREFIX);
    if (!/^[a-z0-9]{1,8}$/.test(prefix)) throw new Error(`lab namespace prefix "${prefix}": use 1-8 letters or digits`);
    removeStaleNamespaces(prefix);
    const net = new LabNetwork(`${prefix}-${process.pid}-${++networks}`);
    try {
      net.build(hostNames, options.mtu ?? 1500);
    } catch (err) {
      net.destroyNamespaces();
      throw err;
    }
    return net;
  }

  host(name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no lab host named ${name}`);
    return h;
  }

  private build(hostNames: string[], mtu: number): void {
    this.mtu = mtu;
    ip(['netns', 'add', this.underlayNetns]);
    const ul = ['-n', this.underlayNetns];
    ip([...ul, 'link', 'set', 'lo', 'up']);
    ip([...ul, 'link', 'add', 'ul0', 'type', 'bridge']);
    ip([...ul, 'link', 'set', 'ul0', 'up']);
    for (const name of hostNames) this.addHost(name);
  }

  // A new host on the underlay (its namespace, eth0 with the next free address).
  addHost(name: string): LabHost {
    const mtu = this.mtu;
    const ul = ['-n', this.underlayNetns];
    const netns = `${this.id}-${name}`;
    const address = `${UNDERLAY_PREFIX}.${10 + this.hostsCreated++}`;
    ip(['netns', 'add', netns]);
    // Created inside the underlay namespace so the names can never clash with the root namespace's.
    ip([
      ...ul,
      'link',
      'add',
      `p-${name}`,
      'mtu',
      String(mtu),
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'mtu',
      String(mtu),
      'netns',
      netns,
    ]);
    ip([...ul, 'link', 'set', `p-${name}`, 'master', 'ul0', 'up']);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
    const host = new LabHost(name, netns, address);
    this.hosts.push(host);
    return host;
  }

  // A bare namespace (loopback up) for an endpoint; its name is what `ctl endpoint attach --netns` takes.
  namespace(name: string): string {
    const netns = `${this.id}-${name}`;
    ip(['netns', 'add', netns]);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    this.extraNetns.push(netns);
    return netns;
  }

  // A long-running command in one of this lab's namespaces, killed with the lab.
  spawnIn(netns: string, label: string, command: string, args: string[]): ManagedProcess {
    const proc = new ManagedProcess(`${netns}/${label}`, 'ip', ['netns', 'exec', netns, command, ...args]);
    this.extraProcesses.push(proc);
    return proc;
  }

  // Runs a command in one of this lab's namespaces.
  execIn(netns: string, command: string, args: string[]): { status: number; stdout: string; stderr: string } {
    try {
      const stdout = execFileSync('ip', ['netns', 'exec', netns, command, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      });
      return { status: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      return { status: e.status ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  // Takes a host off the network for good: its processes are killed and its namespace removed.
  async removeHost(name: string): Promise<void> {
    const host = this.host(name);
    await host.stopProcesses();
    ip(['netns', 'delete', host.netns]);
    fs.rmSync(host.localSocketDir, { recursive: true, force: true });
    this.hosts.splice(this.hosts.indexOf(host), 1);
  }

  // Cuts (or restores) a host's underlay link, as a pulled cable would.
  setLink(host: string, up: boolean): void {
    ip(['-n', this.underlayNetns, 'link', 'set', `p-${host}`, up ? 'up' : 'down']);
  }

  // Cuts hosts off on the underlay, as a partitioned switch would (see underlay-partition.ts): from
  // every other address, or only from `from`. Each target is a host name, a namespace or an address.
  partition(targets: string[], from?: string[]): void {
    const addresses = (list: string[]) => list.map((t) => this.addressOf(t));
    runNft(this.underlayNetns, partitionScript(addresses(targets), from && addresses(from)));
  }

  // Undoes every partition.
  heal(): void {
    runNft(this.underlayNetns, HEAL_SCRIPT);
  }

  private addressOf(target: string): string {
    const host = this.hosts.find((h) => h.name === target || h.netns === target || h.ip === target);
    if (host) return host.ip;
    if (/^[0-9.]+$/.test(target)) return target;
    throw new Error(
      `no lab host, namespace or address "${target}" (hosts: ${this.hosts.map((h) => h.name).join(', ')})`,
    );
  }

  async destroy(): Promise<void> {
    await Promise.all([
      ...this.hosts.map((h) => h.stopProcesses()),
      ...this.extraProcesses.map((p) => p.stop('SIGKILL')),
    ]);
    this.destroyNamespaces();
  }

  private destroyNamespaces(): void {
    const existing = new Set(
      ip(['netns', 'list'])
        .split('\n')
        .map((l) => l.split(' ')[0]),
    );
    for (const netns of [...this.extraNetns, ...this.hosts.map((h) => h.netns), this.underlayNetns]) {
      if (existing.has(netns)) ip(['netns', 'delete', netns]);
    }
    for (const h of this.hosts) fs.rmSync(h.localSocketDir, { recursive: true, force: true });
    this.hosts.length = 0;
    this.extraNetns.length = 0;
  }
}
