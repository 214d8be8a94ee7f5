import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot } from '../../common/paths';
import type { LabHost } from '../../lab/network';

// Debian's podman in a lab host, on its CNI backend, with everything of its own under `dir`: storage,
// run state, the network configurations (net.d) and a plugin directory holding our plugin next to
// Debian's (/usr/lib/cni). Nothing of the machine's podman setup is read or written.
export class PodmanHost {
  readonly netd: string;
  private readonly conf: string;

  constructor(
    readonly host: LabHost,
    private readonly dir: string,
    pluginDir: string,
  ) {
    this.netd = path.join(dir, 'net.d');
    this.conf = path.join(dir, 'containers.conf');
    fs.mkdirSync(this.netd, { recursive: true });
    fs.writeFileSync(
      this.conf,
      [
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${pluginDir}", "/usr/lib/cni"]`,
        `network_config_dir = "${this.netd}"`,
        '[engine]',
        // runc: crun refuses machines with cgroups v1 and v2 mounted side by side (hybrid).
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        '',
      ].join('\n'),
    );
  }

  // A plugin directory with bin/vxgossip-cni as the plugin of type "vxgossip".
  static pluginDir(dir: string): string {
    const plugins = path.join(dir, 'cni-bin');
    fs.mkdirSync(plugins, { recursive: true });
    fs.symlinkSync(path.join(repoRoot, 'bin', 'vxgossip-cni'), path.join(plugins, 'vxgossip'));
    return plugins;
  }

  // podman with this host's storage and configuration; throws with its stderr on failure.
  podman(...args: string[]): string {
    const storage = [
      ...['--root', path.join(this.dir, 'root'), '--runroot', path.join(this.dir, 'run')],
      ...['--storage-driver', 'vfs', '--tmpdir', path.join(this.dir, 'tmp')],
    ];
    // nsenter, not ip netns exec: that would give podman a mount namespace of its own, and the
    // namespaces it mounts under /run/netns would not reach the agent, as they do on a real host.
    const command = ['--net=' + path.join('/run/netns', this.host.netns), 'env', `CONTAINERS_CONF=${this.conf}`];
    try {
      return execFileSync('nsenter', [...command, 'podman', ...storage, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      });
    } catch (err) {
      const e = err as { status?: number; stderr?: string; message: string };
      throw new Error(
        `[${this.host.name}] podman ${args.join(' ')} exited ${e.status}: ${(e.stderr || e.message).trim()}`,
      );
    }
  }

  // podman raises a container's open-file and process limits by default, which the runtime may not do
  // where ours are lower (no CAP_SYS_RESOURCE, as in a sandboxed CI machine): lower ones always work.
  static readonly limits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

  // A busybox image made here from Debian's static busybox: no registry is asked for anything.
  importBusybox(image: string): void {
    const rootfs = path.join(this.dir, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    for (const tool of ['sh', 'ip', 'ping', 'sleep']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', tool));
    const tarball = path.join(this.dir, 'busybox.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tarball, '.']);
    this.podman('import', '--change', 'CMD ["/bin/sh"]', tarball, image);
  }

  // Every container removed (each one's CNI DEL runs), also after a failed test.
  removeAll(): void {
    try {
      this.podman('rm', '--force', '--all', '--time', '0');
    } catch (err) {
      console.error(`podman rm on ${this.host.name} failed: ${(err as Error).message}`);
    }
  }
}
