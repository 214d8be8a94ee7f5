import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { operatorArgs } from '../../lab/credentials';
import { ManagedProcess } from '../../lab/managed-process';

const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};

// The package as an operator installs it: `npm pack`, then `npm install -g` of the tarball into a
// prefix of its own, every binary run from that prefix's bin/ on PATH and from no other directory.
describe('the npm package installed with npm install -g', function () {
  this.timeout(600_000);
  let dir: string;
  let prefix: string;
  let server: ManagedProcess | undefined;
  const env = () => ({ ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}` });
  const run = (program: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnSync(program, args, { cwd: dir, encoding: 'utf8', env: { ...env(), ...extraEnv }, timeout: 30_000 });

  before(() => {
    dir = makeTempDir('npm-package');
    prefix = path.join(dir, 'prefix');
    const npm = (args: string[], cwd: string) =>
      execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
    // Dependencies come from npm's cache when the checkout's own `npm ci` filled it.
    const tarball =
      npm(['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], repoRoot).trim().split('\n').pop() ?? '';
    npm(
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball)],
      dir,
    );
  });
  after(async () => {
    await server?.stop();
    if (dir) removeTempDir(dir);
  });

  it('links every binary package.json names, each of which answers --help', () => {
    assert.deepEqual(Object.keys(packageJson.bin).sort(), [
      'ctl',
      'vxgossip-cni',
      'vxgossip-node-agent',
      'vxgossip-server',
    ]);
    for (const name of ['ctl', 'vxgossip-server', 'vxgossip-node-agent']) {
      const r = run(name, ['--help']);
      assert.equal(r.status, 0, `${name} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage:/, name);
    }
    const cni = run('vxgossip-cni', [], { CNI_COMMAND: 'VERSION' });
    assert.equal(cni.status, 0, cni.stderr);
    assert.deepEqual((JSON.parse(cni.stdout) as { supportedVersions: string[] }).supportedVersions, ['1.0.0', '1.1.0']);
  });

  it("built the agent's native addons at install", () => {
    const installed = path.join(prefix, 'lib', 'node_modules', 'vxgossip');
    for (const addon of ['netlink_socket', 'icmp_socket', 'bpf_datapath']) {
      const load = `require(${JSON.stringify(path.join(installed, 'dist', 'node-agent', 'native', 'load-addon.js'))}).loadAddon(${JSON.stringify(addon)})`;
      const r = run(process.execPath, ['-e', load]);
      assert.equal(r.status, 0, `${addon}: ${r.stderr}`);
    }
  });

  it('runs the installed server, and the installed ctl talks to it', async () => {
    const dataDir = path.join(dir, 'server');
    server = new ManagedProcess('server', 'vxgossip-server', ['--listen', '127.0.0.1:0', '--data-dir', dataDir], env());
    const ready = await server.waitForLog((r) => r.msg === 'server ready', 15_000);
    const version = run('ctl', [...operatorArgs(String(ready.address), dataDir), 'version']);
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^client: \d+\.\d+\.\d+/m);
    assert.match(version.stdout, /^server: \d+\.\d+\.\d+/m);
  });
});
