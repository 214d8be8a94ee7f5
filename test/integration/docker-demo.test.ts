import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { repoRoot } from '../../common/paths';
import { requireRoot } from '../helpers/require-root';

// Each run builds what it lacks: the first one in a CI run builds the base image (debootstrap) and the
// vxgossip image, the second finds both. The scenario itself takes about a minute either way.
const RUN_LIMIT_MS = 25 * 60_000;
const SCENARIO_LIMIT_S = 300;
// Time for run-demo.sh's own teardown after it is told to stop (SIGTERM).
const TEARDOWN_MS = 3 * 60_000;

interface DemoRun {
  code: number | null;
  output: string;
  // The scenario's seconds, from the summary run-demo.sh prints.
  scenarioS: number | undefined;
}

// The docker-compose demo, for real: Docker from Debian, a base image built offline with
// debootstrap, the compose project up, workloads attached, pings asserted, everything torn down.
// docker/run-demo.sh does all of it and exits non-zero on any failure, a teardown that left any of
// the project's containers, volumes or networks included. Both modes run, one after the other.
describe('docker-compose demo (docker/run-demo.sh)', function () {
  this.timeout(RUN_LIMIT_MS + TEARDOWN_MS + 60_000);
  let child: ChildProcess | undefined;

  before(function () {
    requireRoot(this);
  });

  // A run cut short by mocha (or by a bug here) must not leave a stack for the next run: the script
  // tears down on SIGTERM; past that, its whole process group goes and the stack is taken down here.
  afterEach(async function () {
    this.timeout(TEARDOWN_MS + 2 * 60_000);
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    if (await stopped(running, 'SIGTERM', TEARDOWN_MS)) return;
    await stopped(running, 'SIGKILL', 10_000);
    spawnSync('docker-compose', ['--profile', 'ha', 'down', '-v', '--remove-orphans'], {
      cwd: repoRoot,
      stdio: 'inherit',
      timeout: 2 * 60_000,
    });
  });

  function runDemo(args: string[]): Promise<DemoRun> {
    const script = path.join(repoRoot, 'docker', 'run-demo.sh');
    // Its own process group, so that a stuck run can be stopped with everything it started.
    const proc = spawn('bash', [script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = proc;
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      // Long steps (image builds) report progress here too.
      process.stderr.write(chunk);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    // Past the limit the script is told to stop, and tears down before it exits.
    const limit = setTimeout(() => signalGroup(proc, 'SIGTERM'), RUN_LIMIT_MS);
    return new Promise((resolve) => {
      proc.on('close', (code) => {
        clearTimeout(limit);
        const scenario = /^\s*scenario\s+(\d+)s$/m.exec(output);
        resolve({ code, output, scenarioS: scenario ? Number(scenario[1]) : undefined });
      });
    });
  }

  function assertPassed(run: DemoRun): void {
    assert.equal(run.code, 0, `run-demo.sh failed:\n${run.output.split('\n').slice(-80).join('\n')}`);
    assert.match(run.output, /RESULT: PASS/);
    assert.ok(
      run.scenarioS !== undefined && run.scenarioS <= SCENARIO_LIMIT_S,
      `the scenario took ${run.scenarioS}s (at most ${SCENARIO_LIMIT_S}s expected)`,
    );
  }

  it('brings up the server and three hosts, and the workloads ping each other', async () => {
    // What an agent killed with SIGKILL leaves behind, and Docker would retry on every command.
    const pluginSocket = '/run/docker/plugins/vxgossip.sock';
    const leftStale = !fs.existsSync(pluginSocket);
    if (leftStale) {
      fs.mkdirSync(path.dirname(pluginSocket), { recursive: true });
      const listenThenDie = `require('net').createServer().listen(${JSON.stringify(pluginSocket)}, () => process.kill(process.pid, 'SIGKILL'))`;
      spawnSync(process.execPath, ['-e', listenThenDie]);
    }
    const run = await runDemo([]);
    assertPassed(run);
    assert.match(run.output, /PASS {2}single: host1\/wl -> host3\/wl/);
    if (leftStale) assert.match(run.output, /removing \/run\/docker\/plugins\/vxgossip.sock: no agent serves it/);
  });

  it('--ha: two replicas on etcd; with one killed, ctl and the agents carry on through the other', async () => {
    const run = await runDemo(['--ha']);
    assertPassed(run);
    for (const step of [
      /PASS {2}ctl reads VNI 42 \(made through server-a\) from server-b/,
      /PASS {2}ctl, given both replicas, makes VNI 43 with server-a down/,
      /PASS {2}the agents reconnect to server-b and realise VNI 43/,
      /PASS {2}a workload on ha-host2 attached to VNI 43 with server-a down/,
      /PASS {2}after server-a was killed: ha-host1\/wl2 -> ha-host2\/wl2 \(10\.43\.0\.2\)/,
      /PASS {2}after server-a was killed: ha-host2\/wl -> ha-host1\/wl \(10\.42\.0\.1\)/,
    ])
      assert.match(run.output, step);
  });
});

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    // Already gone.
  }
}

// Sends `signal` to the run's process group; true once it exited within `ms`.
async function stopped(proc: ChildProcess, signal: NodeJS.Signals, ms: number): Promise<boolean> {
  signalGroup(proc, signal);
  const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref());
  return Promise.race([once(proc, 'exit').then(() => true), timer]);
}
