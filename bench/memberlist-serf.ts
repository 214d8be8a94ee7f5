// memberlist-ts against serf on the same machine, same (LAN) timings:
//   - 20 of our nodes and 20 serf agents on loopback: time for a user broadcast to reach every node
//     (p50, max over 10 broadcasts) and for every node to declare a killed one dead; CPU per node.
//   - a simulated network (one process, in-memory transport) of 10..1000 nodes: gossip rounds for a
//     broadcast to reach everyone, against log N.
// Usage: node dist/bench/memberlist-serf.js [--nodes 20] [--sim 10,100,1000]
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify, parseArgs } from 'node:util';
import { Memberlist, MemoryNetwork, NodeStateType, TransmitLimitedQueue, defaultLanConfig } from 'memberlist-ts';
import type { Config } from 'memberlist-ts';
import { eventually } from '../lab/eventually';
import { makeTempDir, removeTempDir } from '../lab/temp-dir';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    sim: { type: 'string', default: '10,100,1000' },
    'sim-only': { type: 'boolean', default: false },
  },
});
const NODES = Number(values.nodes);
const BROADCASTS = 10;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

// Figures taken when a poll succeeds are only as fine as the polling.
const POLL_MS = 10;

// A node that re-broadcasts a user message the first time it sees it, as serf does with events.
// Messages read `id/hops`: the hop count at first sight is the gossip round that reached the node,
// a figure that does not depend on how fast this one process keeps up with a simulated network.
interface BenchNode {
  m: Memberlist;
  seen: Map<string, number>;
  hops: Map<string, number>;
  queue: TransmitLimitedQueue;
}

function originate(node: BenchNode, id: string): number {
  const sent = Date.now();
  node.seen.set(id, sent);
  node.hops.set(id, 0);
  node.queue.queue({ name: id, message: Buffer.from(`${id}/1`) });
  return sent;
}

// One join pass of every node through the seed, with progress for large simulations.
async function joinThrough(seed: string, joiners: BenchNode[], pass: number): Promise<void> {
  for (const [i, x] of joiners.entries()) {
    await x.m.join([seed]);
    if (joiners.length >= 100 && (i + 1) % 100 === 0) progress(`  join pass ${pass}: ${i + 1}/${joiners.length}`);
  }
}

async function startNode(name: string, over: Partial<Config>): Promise<BenchNode> {
  const seen = new Map<string, number>();
  const hops = new Map<string, number>();
  // The queue's callback may run while Memberlist.create is still starting: a const would not exist yet.
  // eslint-disable-next-line prefer-const
  let m: Memberlist | undefined;
  const queue = new TransmitLimitedQueue(4, () => m?.allNodes().length ?? 1);
  m = await Memberlist.create({
    ...defaultLanConfig(name),
    delegate: {
      nodeMeta: () => Buffer.alloc(0),
      notifyMsg: (payload) => {
        const [id, hop] = payload.toString().split('/');
        if (seen.has(id)) return;
        seen.set(id, Date.now());
        hops.set(id, Number(hop));
        queue.queue({ name: id, message: Buffer.from(`${id}/${Number(hop) + 1}`) });
      },
      getBroadcasts: (overhead, limit) => queue.take(overhead, limit),
      localState: () => Buffer.alloc(0),
      mergeRemoteState: () => undefined,
    },
    ...over,
  });
  return { m, seen, hops, queue };
}

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

async function ours(results: string[]): Promise<void> {
  progress(`${NODES} memberlist-ts nodes on loopback`);
  const nodes: BenchNode[] = [];
  for (let i = 0; i < NODES; i++)
    nodes.push(await startNode(`ts${i}`, { bindAddr: `127.0.1.${i + 1}`, bindPort: 7946 }));
  try {
    for (const n of nodes.slice(1)) await n.m.join([`127.0.1.1:7946`]);
    await eventually(
      () =>
        assert.ok(
          nodes.every((n) => n.m.numMembers() === NODES),
          'everyone sees everyone',
        ),
      60_000,
      POLL_MS,
    );
    const spreads: number[] = [];
    for (let b = 0; b < BROADCASTS; b++) {
      const origin = nodes[b % nodes.length];
      const id = `b${b}`;
      const sent = originate(origin, id);
      const t = await eventually(
        () => {
          assert.ok(
            nodes.every((n) => n.seen.has(id)),
            `broadcast ${id} everywhere`,
          );
          return Math.max(...nodes.map((n) => n.seen.get(id)!)) - sent;
        },
        30_000,
        POLL_MS,
      );
      spreads.push(t);
    }
    const cpuBefore = process.cpuUsage();
    await sleep(20_000);
    const cpu = process.cpuUsage(cpuBefore);
    const perNode = ((cpu.user + cpu.system) / 1e6 / 20 / NODES) * 100;
    const victim = nodes[nodes.length - 1];
    const killedAt = Date.now();
    await victim.m.shutdown();
    const detection = await eventually(
      () => {
        assert.ok(
          nodes
            .slice(0, -1)
            .every((n) => n.m.allNodes().find((x) => x.name === victim.m.config.name)?.state === NodeStateType.Dead),
          'everyone declares the victim dead',
        );
        return Date.now() - killedAt;
      },
      120_000,
      POLL_MS,
    );
    results.push(
      `memberlist-ts, ${NODES} nodes: broadcast to all p50 ${quantile(spreads, 0.5)} ms, max ${Math.max(...spreads)} ms; kill -> dead everywhere ${detection} ms; idle CPU ${perNode.toFixed(2)}% of a core per node`,
    );
    Object.assign(measured, { spread: quantile(spreads, 0.5), detection, cpu: perNode });
  } finally {
    for (const n of nodes) await n.m.shutdown();
  }
}

const measured: { spread?: number; detection?: number; cpu?: number } = {};

async function serf(results: string[], tmp: string): Promise<void> {
  progress(`${NODES} serf agents on loopback`);
  const handler = path.join(tmp, 'handler.sh');
  fs.writeFileSync(
    handler,
    `#!/bin/sh\nnow=$(date +%s%N)\nwhile read -r line || [ -n "$line" ]; do echo "$now $SERF_EVENT $SERF_USER_EVENT $line" >> "${tmp}/$SERF_SELF_NAME.log"; done\n`,
    { mode: 0o755 },
  );
  const agents = Array.from({ length: NODES }, (_, i) => ({
    name: `serf${i}`,
    rpc: `127.0.2.${i + 1}:7373`,
    child: spawn(
      'serf',
      [
        'agent',
        `-node=serf${i}`,
        `-bind=127.0.2.${i + 1}:7946`,
        `-rpc-addr=127.0.2.${i + 1}:7373`,
        `-event-handler=${handler}`,
        '-log-level=warn',
      ],
      { stdio: 'ignore' },
    ),
  }));
  const log = (name: string) => {
    const f = path.join(tmp, `${name}.log`);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  };
  try {
    await sleep(1500);
    for (const a of agents.slice(1)) await run('serf', ['join', `-rpc-addr=${a.rpc}`, '127.0.2.1:7946']);
    await eventually(
      async () => {
        const out = (await run('serf', ['members', `-rpc-addr=${agents[NODES - 1].rpc}`, '-status=alive'])).stdout;
        assert.equal(out.trim().split('\n').length, NODES, 'serf members everywhere');
      },
      60_000,
      POLL_MS,
    );
    const spreads: number[] = [];
    for (let b = 0; b < BROADCASTS; b++) {
      const origin = agents[b % agents.length];
      const sent = Date.now();
      await run('serf', ['event', `-rpc-addr=${origin.rpc}`, '-coalesce=false', 'bench', `b${b}`]);
      const t = await eventually(
        () => {
          const times: number[] = [];
          for (const a of agents) {
            if (a === origin) continue;
            const line = log(a.name)
              .split('\n')
              .find((l) => l.endsWith(` user bench b${b}`));
            assert.ok(line, `serf event b${b} on ${a.name}`);
            times.push(Number(line.split(' ')[0]) / 1e6 - sent);
          }
          return Math.max(...times);
        },
        30_000,
        POLL_MS,
      );
      spreads.push(t);
    }
    const before = agents.map((a) => cpuSeconds(a.child.pid!));
    await sleep(20_000);
    const cpu = agents.map((a, i) => ((cpuSeconds(a.child.pid!) - before[i]) / 20) * 100);
    const victim = agents[NODES - 1];
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const detection = await eventually(
      () => {
        const times: number[] = [];
        for (const a of agents.slice(0, -1)) {
          const line = log(a.name)
            .split('\n')
            .find((l) => new RegExp(` member-failed +${victim.name}\\s`).test(l));
          assert.ok(line, `serf member-failed on ${a.name}`);
          times.push(Number(line.split(' ')[0]) / 1e6 - killedAt);
        }
        return Math.max(...times);
      },
      120_000,
      POLL_MS,
    );
    const serfCpu = quantile(cpu, 0.5);
    results.push(
      `serf 0.9.4, ${NODES} agents: event to all p50 ${Math.round(quantile(spreads, 0.5))} ms, max ${Math.round(Math.max(...spreads))} ms; kill -> member-failed everywhere ${Math.round(detection)} ms; idle CPU ${serfCpu.toFixed(2)}% of a core per agent`,
    );
    results.push(
      `ratios (ours / serf): broadcast p50 ${(measured.spread! / quantile(spreads, 0.5)).toFixed(2)}, failure detection ${(measured.detection! / detection).toFixed(2)}, CPU ${(measured.cpu! / serfCpu).toFixed(2)} (target <= 1.0 for the first two)`,
    );
  } finally {
    for (const a of agents) a.child.kill('SIGKILL');
  }
}

// In-process network: how many gossip rounds a broadcast needs to reach every node.
async function simulation(results: string[], sizes: number[]): Promise<void> {
  for (const n of sizes) {
    progress(`simulated network of ${n} nodes`);
    const network = new MemoryNetwork();
    const gossipIntervalMs = 200;
    const over = (i: number): Partial<Config> => ({
      transport: network.transport(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`),
      bindPort: 0,
      gossipIntervalMs,
      // Probing and periodic push/pull off the critical path: this measures dissemination.
      probeIntervalMs: 60_000,
      pushPullIntervalMs: 0,
    });
    const nodes: BenchNode[] = [];
    for (let i = 0; i < n; i++)
      nodes.push(
        await startNode(`sim${i}`, { ...over(i), advertiseAddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }),
      );
    try {
      // Everyone joins one seed, then syncs with it once more: each push/pull carries the whole
      // member list, so membership is complete without waiting for N² alive messages to spread.
      const seed = `${nodes[0].m.localNode.addr}:${nodes[0].m.localNode.port}`;
      for (const pass of [1, 2]) await joinThrough(seed, nodes.slice(1), pass);
      progress(`  ${n} joined; waiting for full membership`);
      // Checking N members on N nodes is itself O(N²): once a second is enough.
      await eventually(
        () =>
          assert.ok(
            nodes.every((x) => x.m.numMembers() === n),
            'full membership',
          ),
        600_000,
        n > 100 ? 1000 : POLL_MS,
      );
      // The joins leave every node with a backlog of alive messages that goes out before user
      // broadcasts; measure dissemination on a quiet cluster.
      progress('  full membership; waiting for the join backlog to drain');
      let lastReport = Date.now();
      await eventually(
        () => {
          const queued = nodes.reduce((sum, x) => sum + x.m.numQueuedBroadcasts(), 0);
          if (Date.now() - lastReport > 15_000) {
            progress(`  ${queued} membership messages still queued across ${n} nodes`);
            lastReport = Date.now();
          }
          assert.equal(queued, 0, 'broadcast queues drained');
        },
        1_800_000,
        n > 100 ? 1000 : POLL_MS,
      );
      progress('  quiet; broadcasting');
      const rounds: number[] = [];
      const wallRounds: number[] = [];
      for (let b = 0; b < 3; b++) {
        const id = `sim-b${b}`;
        const sent = originate(nodes[b], id);
        const t = await eventually(
          () => {
            assert.ok(
              nodes.every((x) => x.seen.has(id)),
              `simulated broadcast to ${n}`,
            );
            return Date.now() - sent;
          },
          300_000,
          POLL_MS,
        );
        rounds.push(Math.max(...nodes.map((x) => x.hops.get(id)!)));
        wallRounds.push(t / gossipIntervalMs);
      }
      const r = quantile(rounds, 0.5);
      results.push(
        `simulated ${n} nodes: broadcast reaches all in ${r} gossip rounds (log2 N = ${Math.log2(n).toFixed(1)}, ratio ${(r / Math.log2(n)).toFixed(2)}); ` +
          `wall clock ${quantile(wallRounds, 0.5).toFixed(1)} gossip intervals`,
      );
    } finally {
      for (const x of nodes) await x.m.shutdown();
    }
  }
}

async function main(): Promise<void> {
  const tmp = makeTempDir('bench-ml');
  // Each figure is printed as soon as it is measured, so a long simulation never hides the others.
  const results: string[] = [];
  const push = results.push.bind(results);
  results.push = (...items: string[]) => {
    for (const i of items) console.log(`  ${i}`);
    return push(...items);
  };
  console.log(`memberlist-ts vs serf (${os.cpus().length} cores, Node ${process.version})`);
  try {
    if (!values['sim-only']) {
      await ours(results);
      await serf(results, tmp);
    }
    await simulation(
      results,
      values.sim
        .split(',')
        .map(Number)
        .filter((x) => x > 0),
    );
  } finally {
    removeTempDir(tmp);
  }
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
