import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { repoRoot } from '../../../common/paths';
import { NOTIFY_PROGRAMS, notifyListener, type NotifyListener } from '../../helpers/notify-socket';
import { requirePrograms } from '../../helpers/require-root';

// The server as systemd runs it: from a config file and the environment, telling the notify socket
// when it serves and when it stops, reloading on SIGHUP. It needs no root: it listens on loopback.
describe('the server as a service', function () {
  this.timeout(90_000);
  let dir: string;
  let configFile: string;
  let server: ChildProcess;
  let listener: NotifyListener;
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];

  // The first line from here on that matches.
  const lineMatching = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no log line matched ${pattern} in ${timeoutMs} ms; the log:\n${lines.join('\n')}`)),
        timeoutMs,
      );
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  const config = (text: string) => fs.writeFileSync(configFile, text);

  before(async function () {
    requirePrograms(this, NOTIFY_PROGRAMS);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-service-'));
    configFile = path.join(dir, 'server.yaml');
    config(`listen: 127.0.0.1:0\ndata-dir: ${dir}/data\nlog-level: info\n`);
    listener = await notifyListener(path.join(dir, 'notify'));
    server = spawn(process.execPath, [path.join(repoRoot, 'bin', 'server'), '--config', configFile], {
      env: { ...process.env, NOTIFY_SOCKET: listener.path, VXGOSSIP_SERVER_LOG_FORMAT: 'text' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    readline.createInterface({ input: server.stderr! }).on('line', (line) => {
      lines.push(line);
      const i = waiters.findIndex((w) => w.pattern.test(line));
      if (i >= 0) waiters.splice(i, 1)[0].resolve(line);
    });
  });

  after(() => {
    if (server?.exitCode === null) server.kill('SIGKILL');
    listener?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves with the file and the environment, and then tells systemd READY=1', async () => {
    assert.equal(await listener.next(), 'READY=1');
    assert.ok(
      lines.some((l) => /^\S+Z INFO server ready component=server address=127\.0\.0\.1:\d+/.test(l)),
      `no text line said the server was ready:\n${lines.join('\n')}`,
    );
    assert.ok(fs.existsSync(path.join(dir, 'data', 'pki')), 'the data dir of the file was not used');
  });

  it('changes its log level on SIGHUP, says so, and names what needs a restart', async () => {
    config(`listen: 127.0.0.1:1\ndata-dir: ${dir}/data\nlog-level: debug\n`);
    const reloaded = lineMatching(/INFO configuration reloaded/);
    const restart = lineMatching(/WARN .*take effect only after a restart/);
    server.kill('SIGHUP');
    assert.match(await reloaded, /changed=\{"log-level":\{"from":"info","to":"debug"\}\}/);
    assert.match(await restart, /keys=\["listen"\]/);
    assert.equal(server.exitCode, null);
  });

  it('keeps running with its configuration when the file is broken', async () => {
    config(`log-level: [debug\n`);
    const failed = lineMatching(/ERROR configuration reload failed: the running configuration is kept/);
    server.kill('SIGHUP');
    assert.match(await failed, new RegExp(`config file ${configFile}`));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(server.exitCode, null);
    assert.equal(server.signalCode, null);
  });

  it('tells systemd STOPPING=1 on SIGTERM and exits cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.equal(await listener.next(), 'STOPPING=1');
    assert.equal(await exited, 0);
  });
});
