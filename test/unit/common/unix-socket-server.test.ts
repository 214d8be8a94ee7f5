import { strict as assert } from 'node:assert';
import * as childProcess from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { UnixSocketInUse, listenOnUnixSocket, readBodyUpTo, unixSocketInUse } from '../../../common/unix-socket-server';

describe("the agent's local unix sockets", () => {
  let dir: string;
  const servers: http.Server[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-unix-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const serve = async (socket: string, handler: http.RequestListener = (_q, r) => r.end('ok')) => {
    const server = http.createServer(handler);
    await listenOnUnixSocket(server, socket);
    servers.push(server);
    return server;
  };

  // A server that died without removing its socket file (closing a listener in-process removes it).
  const leaveStaleSocket = (socket: string) => {
    const listenThenDie = `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`;
    childProcess.spawnSync(process.execPath, ['-e', listenThenDie]);
    assert.ok(fs.lstatSync(socket).isSocket(), `no stale socket left at ${socket}`);
  };

  it('listens root-only, in a directory it makes', async () => {
    const socket = path.join(dir, 'sub', 'a.sock');
    await serve(socket);
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    assert.equal(await unixSocketInUse(socket), true);
  });

  it('replaces a socket no one answers on, refuses one a live process serves and a file that is not a socket', async () => {
    const stale = path.join(dir, 'stale.sock');
    leaveStaleSocket(stale);
    assert.equal(await unixSocketInUse(stale), false);
    await serve(stale);
    await assert.rejects(serve(stale), UnixSocketInUse);
    const file = path.join(dir, 'file.sock');
    fs.writeFileSync(file, '');
    await assert.rejects(serve(file), /exists and is not a socket/);
  });

  it('says in use to the second of two agents starting at once (both found no socket)', async () => {
    const socket = path.join(dir, 'race.sock');
    const results = await Promise.allSettled([serve(socket), serve(socket)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.ok(refused?.reason instanceof UnixSocketInUse, String(refused?.reason));
  });

  it('serves when another agent starting at once removed the stale socket while this one checked it', async () => {
    const stale = path.join(dir, 'stale-race.sock');
    leaveStaleSocket(stale);
    const serving = serve(stale);
    fs.unlinkSync(stale); // the other agent, between this one's look and its removal
    await serving;
    assert.equal(await unixSocketInUse(stale), true);
  });

  it('says in use when another agent replaced the socket file just after this one listened', async () => {
    const socket = path.join(dir, 'replaced.sock');
    const server = http.createServer();
    server.once('listening', () => fs.unlinkSync(socket));
    await assert.rejects(listenOnUnixSocket(server, socket), UnixSocketInUse);
    assert.equal(server.listening, false);
  });

  it('reads a body up to its bound, and nothing past it', async () => {
    const socket = path.join(dir, 'b.sock');
    const seen: Array<number | undefined> = [];
    await serve(socket, (req, res) => {
      void readBodyUpTo(req, 10).then((body) => {
        seen.push(body?.length);
        res.end();
      });
    });
    const post = (body: string) =>
      new Promise<void>((resolve) => {
        const req = http.request({ socketPath: socket, method: 'POST', path: '/' }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        req.end(body);
      });
    await post('0123456789');
    await post('0123456789x');
    assert.deepEqual(seen, [10, undefined]);
  });
});
