import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess } from '../../lab/managed-process';
import type { LabHost } from '../../lab/network';

const run = promisify(execFile);
export const BUSYBOX_IMAGE = 'vxgossip-busybox:test';
// Docker finds legacy plugins here; each engine sees its own agent's directory mounted on it.
const PLUGIN_DIR = '/run/docker/plugins';

export interface DockerResult {
  status: number;
  stdout: string;
  stderr: string;
}

// A Docker engine (Debian's docker.io) inside a lab host: its own data root, exec root, pid file,
// socket and cgroup parent under `dir`, no iptables and no default bridge, in a mount namespace of its
// own where the agent's plugin directory is /run/docker/plugins. Entered with nsenter, not `ip netns
// exec`, which would mount a fresh /sys over the host's cgroup mounts that Docker needs.
export class DockerEngine {
  private constructor(
    readonly host: LabHost,
    readonly dir: string,
    private readonly daemon: ManagedProcess,
  ) {}

  // Unique per engine, as `dir` is: where its containers' processes are found after a crash.
  private static cgroupOf(dir: string): string {
    return dir.replace(/[^a-zA-Z0-9]+/g, '-').slice(-60);
  }

  static async start(host: LabHost, dir: string, pluginDir: string): Promise<DockerEngine> {
    fs.mkdirSync(pluginDir, { recursive: true });
    fs.mkdirSync(PLUGIN_DIR, { recursive: true });
    const dockerd = [
      'dockerd',
      ...['--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec')],
      ...['--pidfile', path.join(dir, 'dockerd.pid'), '-H', `unix://${path.join(dir, 'docker.sock')}`],
      ...['--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', 'vfs'],
      ...['--cgroup-parent', DockerEngine.cgroupOf(dir)],
    ].join(' ');
    const daemon = new ManagedProcess(`${host.name}/dockerd`, 'unshare', [
      ...['-m', '--propagation', 'private', 'nsenter', `--net=/run/netns/${host.netns}`],
      ...['sh', '-c', `mount --bind ${pluginDir} ${PLUGIN_DIR} && exec ${dockerd}`],
    ]);
    const engine = new DockerEngine(host, dir, daemon);
    await daemon.waitForOutput(/API listen on/, 60_000);
    return engine;
  }

  async docker(args: string[], timeoutMs = 60_000): Promise<DockerResult> {
    try {
      const { stdout, stderr } = await run('docker', ['-H', `unix://${path.join(this.dir, 'docker.sock')}`, ...args], {
        timeout: timeoutMs,
        encoding: 'utf8',
      });
      return { status: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  // Throws with Docker's own words when the command fails.
  async ok(args: string[], timeoutMs?: number): Promise<string> {
    const r = await this.docker(args, timeoutMs);
    if (r.status !== 0) throw new Error(`[${this.host.name}] docker ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  // A busybox image built offline: Debian's static busybox and its applets, imported as a root fs.
  async importBusybox(): Promise<void> {
    const rootfs = path.join(this.dir, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'ping', 'sleep', 'ip', 'cat', 'true'])
      fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
    const tar = path.join(this.dir, 'rootfs.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    await this.ok(['import', tar, BUSYBOX_IMAGE]);
  }

  async ipOf(container: string): Promise<string> {
    return this.ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container]);
  }

  logs(): string {
    return this.daemon.tail(60);
  }

  // Containers first (Docker tells the driver they leave), then the engine; whatever outlived it
  // (containerd shims, container processes) is found by this engine's directory and cgroup and killed
  // by pid, never by name.
  async stop(): Promise<void> {
    if (this.daemon.running) {
      const ids = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter((id) => id !== '');
      if (ids.length > 0) await this.docker(['rm', '-f', ...ids], 120_000);
      await this.daemon.stop('SIGTERM', 20_000);
    }
    for (const pid of this.leftoverPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const controller of fs.readdirSync('/sys/fs/cgroup')) {
      const parent = path.join('/sys/fs/cgroup', controller, DockerEngine.cgroupOf(this.dir));
      if (!fs.existsSync(parent)) continue;
      for (const sub of fs.readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()))
        fs.rmSync(path.join(parent, sub.name), { recursive: true, force: true });
      try {
        fs.rmdirSync(parent);
      } catch {
        // Still busy: left for the next run's reader, and harmless.
      }
    }
  }

  private leftoverPids(): number[] {
    const pids = new Set<number>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(this.dir)) pids.add(Number(entry));
      } catch {
        // Exited while we looked.
      }
    }
    const cgroup = `/sys/fs/cgroup/pids/${DockerEngine.cgroupOf(this.dir)}`;
    if (fs.existsSync(cgroup))
      for (const sub of fs.readdirSync(cgroup, { withFileTypes: true }).filter((d) => d.isDirectory())) {
        const procs = fs.readFileSync(path.join(cgroup, sub.name, 'cgroup.procs'), 'utf8');
        for (const pid of procs.split('\n').filter((p) => p !== '')) pids.add(Number(pid));
      }
    pids.delete(process.pid);
    return [...pids];
  }
}
