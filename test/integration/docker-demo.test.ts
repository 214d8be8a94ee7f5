import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { requireRoot } from '../helpers/require-root';

// The docker-compose demo, for real: Docker from Debian, a base image built offline with
// debootstrap, the compose project up, workloads attached, pings asserted, everything torn down.
// docker/run-demo.sh does all of it and exits non-zero on any failure.
describe('docker-compose demo (docker/run-demo.sh)', function () {
  this.timeout(30 * 60_000);

  before(function () {
    requireRoot(this);
  });

  it('brings up the server and three hosts, and the workloads ping each other', async () => {
    // What an agent killed with SIGKILL leaves behind, and Docker would retry on every command.
    const pluginSocket = '/run/docker/plugins/vxgossip.sock';
    const leftStale = !fs.existsSync(pluginSocket);
    if (leftStale) {
      fs.mkdirSync(path.dirname(pluginSocket), { recursive: true });
      const listenThenDie = `require('net').createServer().listen(${JSON.stringify(pluginSocket)}, () => process.kill(process.pid, 'SIGKILL'))`;
      spawnSync(process.execPath, ['-e', listenThenDie]);
    }
    const script = path.join(repoRoot, 'docker', 'run-demo.sh');
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('bash', [script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (chunk: Buffer) => {
        output += chunk.toString();
        // Long steps (image builds) report progress here too.
        process.stderr.write(chunk);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('close', (c) => resolve({ code: c, output }));
    });
    assert.equal(code, 0, `run-demo.sh failed:\n${output.split('\n').slice(-80).join('\n')}`);
    assert.match(output, /PASS/);
    if (leftStale) assert.match(output, /removing \/run\/docker\/plugins\/vxgossip.sock: no agent serves it/);
  });
});
