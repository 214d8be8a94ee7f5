import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Keyring,
  Memberlist,
  NodeStateType,
  TransmitLimitedQueue,
  defaultLanConfig,
  msgpackEncode as encode,
} from 'memberlist-ts';
import type { Config } from 'memberlist-ts';

import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { requirePrograms } from '../helpers/require-root';

// memberlist-ts against the real thing: Debian's serf agent (memberlist 0.2.2), on loopback.

// The little of serf a foreign member needs: tags as node meta, and join/leave intents so serf
// shows a graceful leave as "left" rather than "failed".
class SerfCompat {
  private ltime = 1_000_000;
  readonly queue = new TransmitLimitedQueue(4, () => 4);

  constructor(
    readonly name: string,
    readonly tags: Record<string, string>,
  ) {}

  meta(): Buffer {
    return Buffer.concat([
      Buffer.from([0xff]),
      encode(new Map(Object.entries(this.tags).map(([k, v]) => [k, Buffer.from(v)]))),
    ]);
  }

  private intent(type: number, body: Record<string, unknown>): Buffer {
    return Buffer.concat([Buffer.from([type]), encode({ LTime: this.ltime++, Node: this.name, ...body } as never)]);
  }

  joinIntent(): void {
    this.queue.queue({ name: 'intent', message: this.intent(1, {}) });
  }

  leaveIntent(): void {
    this.queue.queue({ name: 'intent', message: this.intent(0, { Prune: false }) });
  }
}

interface SerfAgent {
  name: string;
  port: number;
  rpc: string;
  child: ChildProcess;
  log: () => string;
}

describe('memberlist-ts interoperates with serf 0.9.4 (memberlist 0.2.2)', function () {
  this.timeout(120_000);
  const tmp = makeTempDir('serf');
  let serfs: SerfAgent[] = [];
  let ours: Memberlist[] = [];
  let nextPort = 21000 + (process.pid % 1000) * 10;

  function startSerf(name: string, extra: string[] = []): SerfAgent {
    const port = nextPort++;
    const rpc = `127.0.0.1:${nextPort++}`;
    const logFile = path.join(tmp, `${name}.log`);
    const out = fs.openSync(logFile, 'w');
    const child = spawn(
      'serf',
      [
        'agent',
        `-node=${name}`,
        `-bind=127.0.0.1:${port}`,
        `-rpc-addr=${rpc}`,
        '-log-level=debug',
        '-tag',
        `role=serf-${name}`,
        ...extra,
      ],
      { stdio: ['ignore', out, out] },
    );
    const agent = { name, port, rpc, child, log: () => fs.readFileSync(logFile, 'utf8') };
    serfs.push(agent);
    return agent;
  }

  // Never a synchronous exec: our nodes live in this process and must keep answering serf meanwhile.
  const run = promisify(execFile);
  const serfCli = async (...args: string[]) => (await run('serf', args, { encoding: 'utf8', timeout: 30_000 })).stdout;
  const members = async (
    agent: SerfAgent,
  ): Promise<Array<{ name: string; status: string; tags: Record<string, string> }>> =>
    JSON.parse(await serfCli('members', `-rpc-addr=${agent.rpc}`, '-format=json')).members;

  async function startOurs(name: string, over: Partial<Config> = {}): Promise<{ m: Memberlist; serf: SerfCompat }> {
    const compat = new SerfCompat(name, { role: `ours-${name}` });
    const m = await Memberlist.create({
      ...defaultLanConfig(name),
      bindAddr: '127.0.0.1',
      bindPort: 0,
      // serf's version vector: memberlist protocol 2 (1..5), serf protocol 5 (2..5).
      delegateProtocolMin: 2,
      delegateProtocolMax: 5,
      delegateProtocolVersion: 5,
      delegate: {
        nodeMeta: () => compat.meta(),
        notifyMsg: () => undefined,
        getBroadcasts: (overhead, limit) => compat.queue.take(overhead, limit),
        localState: () => Buffer.alloc(0),
        mergeRemoteState: () => undefined,
      },
      ...over,
    });
    ours.push(m);
    return { m, serf: compat };
  }

  async function serfReady(agent: SerfAgent): Promise<void> {
    await eventually(() => members(agent), 10_000, 200);
  }

  before(function () {
    requirePrograms(this, { serf: 'serf' });
  });

  afterEach(async () => {
    for (const m of ours) await m.shutdown();
    for (const s of serfs) s.child.kill('SIGKILL');
    ours = [];
    serfs = [];
  });

  after(() => removeTempDir(tmp));

  it("joins a 3-node serf cluster: serf shows our nodes alive with their tags, we see serf's nodes", async () => {
    const s = ['s1', 's2', 's3'].map((n) => startSerf(n));
    for (const a of s) await serfReady(a);
    for (const a of s.slice(1)) await serfCli('join', `-rpc-addr=${a.rpc}`, `127.0.0.1:${s[0].port}`);
    const a = await startOurs('ts1');
    const b = await startOurs('ts2');
    for (const x of [a, b]) {
      await x.m.join([`127.0.0.1:${s[0].port}`]);
      x.serf.joinIntent();
    }
    await eventually(
      async () => {
        for (const agent of s) {
          const list = await members(agent);
          for (const name of ['ts1', 'ts2']) {
            const m = list.find((x) => x.name === name);
            assert.equal(m?.status, 'alive', `${agent.name} sees ${name}: ${JSON.stringify(m)}`);
            assert.equal(m?.tags.role, `ours-${name}`);
          }
        }
        for (const x of [a, b])
          assert.deepEqual(
            x.m
              .members()
              .map((n) => n.name)
              .sort(),
            ['s1', 's2', 's3', 'ts1', 'ts2'],
          );
      },
      20_000,
      200,
    );
  });

  it('serf agents join our cluster', async () => {
    const a = await startOurs('ts1');
    const b = await startOurs('ts2');
    await b.m.join([`127.0.0.1:${a.m.boundPort}`]);
    const s1 = startSerf('s1');
    await serfReady(s1);
    await serfCli('join', `-rpc-addr=${s1.rpc}`, `127.0.0.1:${a.m.boundPort}`);
    await eventually(
      async () => {
        assert.deepEqual(
          (await members(s1))
            .filter((m) => m.status === 'alive')
            .map((m) => m.name)
            .sort(),
          ['s1', 'ts1', 'ts2'],
        );
        assert.ok(
          b.m.members().some((n) => n.name === 's1'),
          'ts2 learned s1 through gossip',
        );
      },
      20_000,
      200,
    );
  });

  for (const encrypted of [false, true]) {
    it(`serf reports our killed node failed, our gracefully left node left; we declare a killed serf agent dead${encrypted ? ' (encrypted)' : ''}`, async () => {
      const key = randomBytes(32);
      const serfKey = encrypted ? ['-encrypt', key.toString('base64')] : [];
      const ourKey = encrypted ? { keyring: new Keyring([key]) } : {};
      const s = ['s1', 's2'].map((n) => startSerf(n, serfKey));
      for (const a of s) await serfReady(a);
      await serfCli('join', `-rpc-addr=${s[1].rpc}`, `127.0.0.1:${s[0].port}`);
      const killed = await startOurs('ts-killed', ourKey);
      const leaving = await startOurs('ts-leaving', ourKey);
      const watcher = await startOurs('ts-watcher', ourKey);
      for (const x of [killed, leaving, watcher]) {
        await x.m.join([`127.0.0.1:${s[0].port}`]);
        x.serf.joinIntent();
      }
      await eventually(
        async () => assert.equal((await members(s[0])).filter((m) => m.status === 'alive').length, 5),
        20_000,
        200,
      );
      await killed.m.shutdown();
      leaving.serf.leaveIntent();
      await new Promise((r) => setTimeout(r, 1000));
      await leaving.m.leave(3000);
      await leaving.m.shutdown();
      s[1].child.kill('SIGKILL');
      await eventually(
        async () => {
          const list = await members(s[0]);
          assert.equal(list.find((m) => m.name === 'ts-killed')?.status, 'failed');
          assert.equal(list.find((m) => m.name === 'ts-leaving')?.status, 'left');
          const s2 = watcher.m.allNodes().find((n) => n.name === 's2');
          assert.equal(s2?.state, NodeStateType.Dead, `we see s2 as ${s2?.state}`);
        },
        60_000,
        500,
      );
    });
  }

  it('with -encrypt keys: the same key joins, a wrong key is refused with a clear error', async () => {
    const key = randomBytes(32);
    const s1 = startSerf('s1', ['-encrypt', key.toString('base64')]);
    await serfReady(s1);
    const good = await startOurs('ts-key', { keyring: new Keyring([key]) });
    await good.m.join([`127.0.0.1:${s1.port}`]);
    good.serf.joinIntent();
    await eventually(
      async () => assert.equal((await members(s1)).find((m) => m.name === 'ts-key')?.status, 'alive'),
      20_000,
      200,
    );
    const bad = await startOurs('ts-wrong', { keyring: new Keyring([randomBytes(32)]) });
    await assert.rejects(
      bad.m.join([`127.0.0.1:${s1.port}`]),
      /could not join any of .*(no installed key decrypts|ended|stream)/,
    );
    assert.equal(
      (await members(s1)).find((m) => m.name === 'ts-wrong'),
      undefined,
    );
  });

  it('interoperates with compression off on our side and on (the serf default) on theirs', async () => {
    const s1 = startSerf('s1');
    await serfReady(s1);
    const plain = await startOurs('ts-plain', { enableCompression: false });
    const packed = await startOurs('ts-packed', { enableCompression: true });
    for (const x of [plain, packed]) {
      await x.m.join([`127.0.0.1:${s1.port}`]);
      x.serf.joinIntent();
    }
    await eventually(
      async () => {
        const list = await members(s1);
        for (const n of ['ts-plain', 'ts-packed']) assert.equal(list.find((m) => m.name === n)?.status, 'alive');
      },
      20_000,
      200,
    );
    assert.doesNotMatch(s1.log(), /\[ERR\] memberlist/, 'serf logged no memberlist errors');
  });
});
