import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../../common/proto';
import { repoRoot } from '../../../common/paths';
import { eventually } from '../../../lab/eventually';
import { CtlTestServers, ctlAsync as ctl, type Services } from '../../helpers/ctl-server';

type Handler = (call: unknown, cb: grpc.sendUnaryData<unknown>) => void;
type WatchCall = grpc.ServerWritableStream<{ fromRevision: string; filter: { vni: number } }, unknown>;

const VNI = { id: 42, name: 'vni-42', mode: 'l2', dstport: 4789, revision: 7 };
const entry = (mac: string) => ({ vni: 42, mac, vtep: '198.18.0.1', node: 'h1', kind: 'KIND_ENDPOINT' });

// One replica of the server: what ctl asked of it, and a way to take it away.
class Replica {
  readonly creates: unknown[] = [];
  readonly watches: Array<{ fromRevision: string; vni: number }> = [];
  address = '';
  private server?: grpc.Server;

  constructor(
    private readonly servers: CtlTestServers,
    // What its calls do (WatchFdb after noting the request); by default, what a healthy server does.
    private readonly does: {
      watchFdb?: (call: WatchCall, replica: Replica) => void;
      watchNodes?: (call: grpc.ServerWritableStream<unknown, unknown>, replica: Replica) => void;
      create?: Handler;
    } = {},
  ) {}

  async start(): Promise<this> {
    const services: Services = [
      [
        v1().NodeService.service,
        {
          ListNodes: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { nodes: [{ name: 'h1' }] }),
          WatchNodes: (call: grpc.ServerWritableStream<unknown, unknown>) => {
            call.on('error', () => undefined);
            this.does.watchNodes?.(call, this);
          },
        },
      ],
      [
        v1().VniService.service,
        {
          CreateVni: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
            this.creates.push(call.request);
            (this.does.create ?? ((_call, done) => done(null, VNI)))(call, cb);
          },
        },
      ],
      [
        v1().EndpointService.service,
        {
          WatchFdb: (call: WatchCall) => {
            this.watches.push({ fromRevision: call.request.fromRevision, vni: call.request.filter.vni });
            call.on('error', () => undefined);
            this.does.watchFdb?.(call, this);
          },
        },
      ],
    ];
    ({ address: this.address, server: this.server } = await this.servers.serveAt(services));
    return this;
  }

  // Gone: its connections dropped, its port closed.
  stop(): void {
    this.server?.forceShutdown();
  }
}

describe('ctl with several server addresses (replicas)', function () {
  this.timeout(30_000);
  const servers = new CtlTestServers();
  before(() => servers.start());
  after(() => servers.stop());

  it('reaches the second server when the first is down', async () => {
    const [a, b] = [await new Replica(servers).start(), await new Replica(servers).start()];
    a.stop();
    const r = await ctl([...servers.flagsFor([a.address, b.address]), 'node', 'list', '-o', 'name']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'node/h1\n');
  });

  it('sends a write to the next server when the first never connected, once', async () => {
    const [a, b] = [await new Replica(servers).start(), await new Replica(servers).start()];
    a.stop();
    const r = await ctl([...servers.flagsFor([a.address, b.address]), 'vni', 'create', '42']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^VNI 42 \(vni-42\) created at revision 7\n$/);
    assert.equal(b.creates.length, 1);
  });

  it('does not send again a write the server it went to may have received', async () => {
    // The replica takes the request and goes away before it answers.
    const a = await new Replica(servers, { create: () => a.stop() }).start();
    const b = await new Replica(servers).start();
    const r = await ctl([...servers.flagsFor([a.address, b.address]), 'vni', 'create', '42']);
    assert.equal(r.status, 1);
    assert.equal(a.creates.length, 1);
    assert.equal(b.creates.length, 0, 'not sent to another replica');
    assert.match(r.stderr, new RegExp(`^ctl vni create: .*${a.address}`));
  });

  it('names every address it tried when none answers', async () => {
    const [a, b] = [await new Replica(servers).start(), await new Replica(servers).start()];
    a.stop();
    b.stop();
    const r = await ctl([...servers.flagsFor([a.address, b.address]), 'vni', 'create', '42']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`no server answered \\(tried ${a.address}, ${b.address}\\)`));
    assert.match(r.stderr, new RegExp(`\\n  server unreachable at ${a.address}: .*ECONNREFUSED`));
    assert.match(r.stderr, new RegExp(`\\n  server unreachable at ${b.address}: .*ECONNREFUSED`));
  });

  it('refuses a bad address of the list by name, before dialling any', async () => {
    const r = await ctl(['--server', '127.0.0.1:1,127.0.0.1', '--tls-ca', '/nonexistent', 'node', 'list']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--server: "127\.0\.0\.1" has no port/);
  });

  it('completes node names from the first server that answers', async () => {
    const [a, b] = [await new Replica(servers).start(), await new Replica(servers).start()];
    a.stop();
    const flags = servers.flagsFor([a.address, b.address]).join(' ');
    const r = await ctl(['__complete', `ctl ${flags} node revoke `]);
    assert.equal(r.stdout, 'h1\n', r.stderr);
  });

  it('resumes `watch fdb` on the next server from the last revision it printed: no gap, no repeat', async () => {
    // A snapshot at revision 5, changes 6 and 7, then the replica goes away.
    const a = await new Replica(servers, {
      watchFdb: (call, self) => {
        call.write({ type: 'EVENT_TYPE_SNAPSHOT', entry: entry('02:00:00:00:00:01'), revision: 5 });
        call.write({ type: 'EVENT_TYPE_SNAPSHOT_END', revision: 5 });
        call.write({ type: 'EVENT_TYPE_ADDED', entry: entry('02:00:00:00:00:02'), revision: 6 });
        call.write({ type: 'EVENT_TYPE_REMOVED', entry: entry('02:00:00:00:00:01'), revision: 7 });
        setTimeout(() => self.stop(), 200);
      },
    }).start();
    // The other holds the same changes (as replicas on one store do): it sends what follows 7.
    const b = await new Replica(servers, {
      watchFdb: (call) => call.write({ type: 'EVENT_TYPE_ADDED', entry: entry('02:00:00:00:00:03'), revision: 8 }),
    }).start();
    const { stdout, stderr } = await watchUntil(
      [...servers.flagsFor([a.address, b.address]), 'watch', 'fdb', '--vni', '42', '-o', 'json'],
      /"revision":8/,
    );
    const printed = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; revision: number });
    assert.deepEqual(
      printed.map((e) => `${e.type} ${e.revision}`),
      ['snapshot 5', 'snapshot-end 5', 'added 6', 'removed 7', 'added 8'],
    );
    assert.deepEqual(b.watches, [{ fromRevision: '7', vni: 42 }], 'resumed after the last revision printed');
    assert.match(stderr, new RegExp(`the watch on ${a.address} broke .*; resuming on ${b.address} after revision 7`));
  });

  it('does not resume `watch fdb` broken inside its snapshot (it would miss the rest of it)', async () => {
    const a = await new Replica(servers, {
      watchFdb: (call, self) => {
        call.write({ type: 'EVENT_TYPE_SNAPSHOT', entry: entry('02:00:00:00:00:01'), revision: 5 });
        setTimeout(() => self.stop(), 200);
      },
    }).start();
    const b = await new Replica(servers).start();
    const r = await ctl([...servers.flagsFor([a.address, b.address]), 'watch', 'fdb']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the watch broke in its snapshot .*; watch again/);
    assert.equal(b.watches.length, 0);
  });

  it('ends `watch fdb` on a refusal, or a stream refused at once, without asking another', async () => {
    const refusing = (code: grpc.status, details: string, first: unknown[]) =>
      new Replica(servers, {
        watchFdb: (call) => {
          for (const event of first) call.write(event);
          call.emit('error', { code, details });
        },
      }).start();
    const b = await new Replica(servers).start();
    const behind = await refusing(grpc.status.OUT_OF_RANGE, 'revision 1 was compacted', [
      { type: 'EVENT_TYPE_SNAPSHOT_END', revision: 5 },
    ]);
    const out = await ctl([...servers.flagsFor([behind.address, b.address]), 'watch', 'fdb']);
    assert.equal(out.status, 1);
    assert.match(out.stderr, /out of range: revision 1 was compacted/);
    const notServing = await refusing(grpc.status.UNAVAILABLE, 'the database is not serving', []);
    const at = await ctl([...servers.flagsFor([notServing.address, b.address]), 'watch', 'fdb']);
    assert.equal(at.status, 1);
    assert.match(
      at.stderr,
      new RegExp(`server at ${notServing.address} cannot serve now: the database is not serving`),
    );
    assert.equal(b.watches.length, 0);
  });

  it('resumes `watch nodes` on the next server with its snapshot (node watches have no revisions)', async () => {
    const node = (name: string) => ({ name, vtep: '198.18.0.1', state: 'NODE_STATE_ALIVE', connected: true });
    const snapshot = (call: grpc.ServerWritableStream<unknown, unknown>, name: string) => {
      call.write({ type: 'EVENT_TYPE_SNAPSHOT', node: node(name) });
      call.write({ type: 'EVENT_TYPE_SNAPSHOT_END' });
    };
    const a = await new Replica(servers, {
      watchNodes: (call, self) => {
        snapshot(call, 'h1');
        setTimeout(() => self.stop(), 200);
      },
    }).start();
    const b = await new Replica(servers, { watchNodes: (call) => snapshot(call, 'h2') }).start();
    const { stdout, stderr } = await watchUntil(
      [...servers.flagsFor([a.address, b.address]), 'watch', 'nodes'],
      /snapshot +h2 .*\n-- snapshot-end\n/,
    );
    assert.match(stdout, /^snapshot +h1 .*\n-- snapshot-end\nsnapshot +h2 .*\n-- snapshot-end\n$/);
    assert.match(stderr, new RegExp(`resuming on ${b.address} after a fresh snapshot`));
  });
});

// ctl following a watch until its output matches `until`; then it is stopped.
async function watchUntil(args: string[], until: RegExp): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), ...args], {
    env: { ...process.env, VXGOSSIP_SERVER: '', VXGOSSIP_CREDENTIALS: '', VXGOSSIP_TOKEN: '' },
  });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await eventually(() => assert.match(stdout, until, stderr), 10_000, 20);
  } finally {
    child.kill();
  }
  return { stdout, stderr };
}
