// The gossip FDB at 20 hosts (network namespaces, real vxlan), against serf on the same machine in
// the same run:
//   1. endpoint attach -> FDB entry programmed on every other host (p50, p99 over the attaches),
//      against the spread of a serf user event to every serf agent;
//   2. an agent down for 60 s while its host forwards: pings lost across it (target 0);
//   3. a host gone (its agent killed and its namespace removed) -> its entries withdrawn everywhere,
//      against serf's failure detection;
//   4. (with --endpoints N instead) N endpoints over the hosts: agent RSS, CPU and VTEP probes received
//      at steady state, and an agent restart: time until its kernel matches the cluster again, and
//      entries deleted meanwhile.
// Usage: node dist/bench/gossip-fdb.js [--hosts 20] [--attaches 50] [--endpoints 10000] [--insecure-gossip]
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LabHost, LabNetwork } from '../lab/network';
import type { LogRecord, ManagedProcess } from '../lab/managed-process';
import { FLOOD_MAC } from '../common/fdb-state/record';
import { eventually } from '../lab/eventually';
import { makeTempDir, removeTempDir } from '../lab/temp-dir';
import { createJoinToken, operatorArgs } from '../lab/credentials';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '20' },
    attaches: { type: 'string', default: '50' },
    endpoints: { type: 'string', default: '0' },
    // Gossip in clear text: what encryption costs, next to the default run.
    'insecure-gossip': { type: 'boolean', default: false },
  },
});
const HOSTS = Number(values.hosts);
const ATTACHES = Number(values.attaches);
const ENDPOINTS = Number(values.endpoints);
const KILLS = 3;
// Every host's endpoints, and its membership, must fit what an owner may hold (default 4,096).
const OWNER_LIMIT = ['--max-records-per-owner', String(Math.max(4096, Math.ceil(ENDPOINTS / HOSTS) + 16))];

const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const ms = (x: number) => `${Math.round(x)} ms`;

// Latencies come from the log records' own times, so polling faster would only cost CPU.
const POLL_MS = 20;

function processStats(pid: number): { rssMb: number; cpuTicks: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { rssMb: rss, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root: it creates network namespaces');
  const tmp = makeTempDir('bench-gossip-fdb');
  const names = ['ctrl', ...Array.from({ length: HOSTS }, (_, i) => `h${i + 1}`)];
  progress(`creating ${HOSTS} hosts`);
  const lab = LabNetwork.create(names);
  const [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
  // Interrupted (Ctrl-C, a CI timeout): still remove every namespace and process.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: cleaning up`);
      void lab.destroy().finally(() => process.exit(130));
    });
  }
  const serverAddr = `${ctrl.ip}:50051`;
  const serverDir = path.join(tmp, 'server');
  // Made once the server is up: every host enrols with it at its first start.
  let joinToken = '';
  const agents = new Map<string, ManagedProcess>();
  const joinList = hosts
    .slice(0, 3)
    .map((h) => `${h.ip}:7946`)
    .join(',');
  const startAgent = (h: LabHost, level = 'debug') => {
    const dir = path.join(tmp, `agent-${h.name}`);
    const a = h.spawnBin('agent', 'node-agent', [
      '--name',
      h.name,
      '--vtep',
      h.ip,
      '--server',
      serverAddr,
      '--data-dir',
      dir,
      '--join',
      joinList,
      '--log-level',
      level,
      '--join-token',
      joinToken,
      ...OWNER_LIMIT,
      ...(values['insecure-gossip'] ? ['--insecure-gossip'] : []),
    ]);
    agents.set(h.name, a);
    return a;
  };
  const ctl = (...args: string[]) => {
    const r = ctrl.ctl([...operatorArgs(serverAddr, serverDir), ...args]);
    if (r.status !== 0) throw new Error(`ctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const results: string[] = [];
  try {
    await ctrl
      .spawnBin('server', 'server', ['--listen', serverAddr, '--data-dir', serverDir, ...OWNER_LIMIT])
      .waitForLog((r) => r.msg === 'server ready');
    joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr, serverDir, hosts.length);
    progress('starting agents');
    const level = ENDPOINTS > 0 ? 'info' : 'debug';
    for (const h of hosts) startAgent(h, level);
    await Promise.all(
      hosts.map((h) => agents.get(h.name)!.waitForLog((r) => r.msg === 'joined the gossip cluster', 120_000)),
    );
    ctl('vni', 'create', '42');
    await eventually(
      () =>
        assert.ok(
          hosts.every((h) => h.link('vxlan42')),
          'vxlan42 everywhere',
        ),
      60_000,
      POLL_MS,
    );

    if (ENDPOINTS === 0) {
      // 1. attach -> programmed on all others.
      progress(`${ATTACHES} attaches`);
      const toAll: number[] = [];
      const perHost: number[] = [];
      const workloads: string[] = [];
      for (let i = 0; i < ATTACHES; i++) {
        const owner = hosts[i % hosts.length];
        const netns = lab.namespace(`ep${i}`);
        workloads.push(netns);
        const out = JSON.parse(
          ctl(
            '-o',
            'json',
            'endpoint',
            'attach',
            '--node',
            owner.name,
            '--vni',
            '42',
            '--netns',
            netns,
            '--ip',
            `10.42.${Math.floor(i / 250)}.${(i % 250) + 1}/16`,
          ),
        ) as { mac: string };
        const mac = out.mac;
        const seen = await eventually(
          () => {
            const lat: number[] = [];
            for (const h of hosts) {
              if (h === owner) continue;
              const r = agents
                .get(h.name)!
                .logRecords()
                .find((x: LogRecord) => x.msg === 'remote endpoint programmed' && x.mac === mac);
              assert.ok(r, `${mac} programmed on ${h.name}`);
              lat.push(Number(r.latencyMs));
            }
            return lat;
          },
          30_000,
          POLL_MS,
        );
        perHost.push(...seen);
        toAll.push(Math.max(...seen));
      }
      results.push(
        `attach -> programmed on all ${HOSTS - 1} other hosts (${ATTACHES} attaches): p50 ${ms(quantile(toAll, 0.5))}, p99 ${ms(quantile(toAll, 0.99))}, max ${ms(Math.max(...toAll))}; per host p50 ${ms(quantile(perHost, 0.5))} (target p50 <= 50 ms, p99 <= 100 ms)`,
      );

      // 2. An agent down for 60 s while its host forwards: a 10/s ping from the first endpoint to the
      // second (on the host whose agent is killed) loses nothing.
      const down = hosts[1];
      progress(`${down.name}'s agent down for 60 s under a 10/s ping`);
      const pinger = lab.spawnIn(workloads[0], 'ping', 'ping', ['-i', '0.1', '-c', '650', '-W', '1', '10.42.0.2']);
      await sleep(1000);
      await agents.get(down.name)!.stop('SIGKILL');
      await sleep(60_000);
      await startAgent(down).waitForLog((r) => r.msg === 'reconciled', 60_000);
      await pinger.exited;
      const pings = /(\d+) packets transmitted, (\d+) received/.exec(pinger.logs());
      results.push(
        `agent down 60 s (kill -9, its host forwarding), 10/s ping to a workload there: ${pings ? Number(pings[1]) - Number(pings[2]) : '?'} of ${pings?.[1] ?? '?'} lost (target 0)`,
      );

      // 3. A host gone -> withdrawn everywhere, a few times: failure detection is randomised. (Only its
      // agent killed, its host still forwards: its entries are kept, and nothing is withdrawn.)
      const withdrawals: number[] = [];
      const perHostWithdrawals: number[] = [];
      for (const victim of hosts.slice(-KILLS)) {
        progress(`${victim.name} gone`);
        const killedAt = Date.now();
        await lab.removeHost(victim.name);
        const withdrawn = await eventually(
          () => {
            const times: number[] = [];
            for (const h of hosts) {
              if (h === victim || !agents.get(h.name)!.running) continue;
              const r = agents
                .get(h.name)!
                .logRecords()
                .find((x) => x.msg === 'withdrew the entries of a gone peer' && x.peer === victim.name);
              assert.ok(r, `${victim.name} withdrawn on ${h.name}`);
              times.push(Date.parse(String(r.time)) - killedAt);
            }
            return times;
          },
          120_000,
          POLL_MS,
        );
        withdrawals.push(Math.max(...withdrawn));
        perHostWithdrawals.push(...withdrawn);
      }
      const ourWithdrawal = quantile(withdrawals, 0.5);
      results.push(
        `host gone -> entries withdrawn on every other host (${KILLS} hosts): median ${ms(ourWithdrawal)} (${withdrawals.map(ms).join(', ')}); ` +
          `per host p50 ${ms(quantile(perHostWithdrawals, 0.5))}, p99 ${ms(quantile(perHostWithdrawals, 0.99))} (target p50 <= 1.5 s, p99 <= 3 s)`,
      );

      // Reference: serf on the same hosts with the same (LAN) timing.
      const serf = await serfReference(hosts.slice(0, hosts.length - KILLS), tmp);
      results.push(
        `serf user event -> every serf agent (${serf.events.length} events): p50 ${ms(quantile(serf.events, 0.5))}, p99 ${ms(quantile(serf.events, 0.99))}; ratio ours/serf p50 ${(quantile(toAll, 0.5) / quantile(serf.events, 0.5)).toFixed(2)}`,
      );
      const serfFailure = quantile(serf.failures, 0.5);
      results.push(
        `serf kill -9 -> member-failed on every serf agent (${KILLS} kills): median ${ms(serfFailure)} (${serf.failures.map(ms).join(', ')}); ratio ours/serf ${(ourWithdrawal / serfFailure).toFixed(2)}`,
      );
    } else {
      await endpointsAtScale(hosts, agents, startAgent, results, tmp);
    }
  } finally {
    progress('tearing down');
    await lab.destroy();
    removeTempDir(tmp);
  }
  console.log(`gossip FDB, ${HOSTS} hosts in network namespaces (${os.cpus().length} cores, kernel ${os.release()})`);
  for (const r of results) console.log(`  ${r}`);
}

// 20 serf agents on the same namespaces (port 7947), an event handler stamping arrival times.
async function serfReference(hosts: LabHost[], tmp: string): Promise<{ events: number[]; failures: number[] }> {
  progress(`serf reference: ${hosts.length} agents`);
  const handler = path.join(tmp, 'serf-handler.sh');
  // User events carry the payload on stdin; member events one line per member ("name address ...").
  fs.writeFileSync(
    handler,
    `#!/bin/sh\nnow=$(date +%s%N)\nwhile read -r line || [ -n "$line" ]; do echo "$now $SERF_EVENT $SERF_USER_EVENT $line" >> "${tmp}/serf-$SERF_SELF_NAME.log"; done\n`,
    { mode: 0o755 },
  );
  const serfs = hosts.map((h) =>
    h.spawn('serf', 'serf', [
      'agent',
      `-node=${h.name}`,
      `-bind=${h.ip}:7947`,
      '-rpc-addr=127.0.0.1:7373',
      `-event-handler=${handler}`,
      '-log-level=warn',
    ]),
  );
  await sleep(1500);
  for (const h of hosts.slice(1)) h.exec('serf', ['join', '-rpc-addr=127.0.0.1:7373', `${hosts[0].ip}:7947`]);
  await eventually(
    () => {
      const out = hosts[hosts.length - 1].exec('serf', ['members', '-rpc-addr=127.0.0.1:7373', '-status=alive']);
      assert.equal(out.trim().split('\n').length, hosts.length, 'serf members everywhere');
    },
    60_000,
    POLL_MS,
  );
  const logOf = (h: LabHost) => {
    const f = path.join(tmp, `serf-${h.name}.log`);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  };
  const events: number[] = [];
  for (let i = 0; i < 20; i++) {
    const sender = hosts[i % hosts.length];
    const tag = `e${i}`;
    const sent = Date.now();
    sender.exec('serf', ['event', '-rpc-addr=127.0.0.1:7373', '-coalesce=false', 'bench', tag]);
    const arrivals = await eventually(
      () => {
        const times: number[] = [];
        for (const h of hosts) {
          if (h === sender) continue;
          const line = logOf(h)
            .split('\n')
            .find((l) => l.endsWith(` user bench ${tag}`));
          assert.ok(line, `serf event ${tag} on ${h.name}`);
          times.push(Number(line.split(' ')[0]) / 1e6 - sent);
        }
        return times;
      },
      30_000,
      POLL_MS,
    );
    events.push(Math.max(...arrivals));
  }
  const failures: number[] = [];
  for (let k = 1; k <= KILLS; k++) {
    const victim = hosts[hosts.length - k];
    const killedAt = Date.now();
    await serfs[serfs.length - k].stop('SIGKILL');
    const times = await eventually(
      () => {
        const out: number[] = [];
        for (const h of hosts.slice(0, hosts.length - k)) {
          const line = logOf(h)
            .split('\n')
            .find((l) => new RegExp(` member-failed +${victim.name}\\s`).test(l));
          assert.ok(line, `serf member-failed on ${h.name}`);
          out.push(Number(line.split(' ')[0]) / 1e6 - killedAt);
        }
        return out;
      },
      120_000,
      POLL_MS,
    );
    failures.push(Math.max(...times));
  }
  for (const s of serfs) await s.stop('SIGKILL');
  return { events, failures };
}

async function endpointsAtScale(
  hosts: LabHost[],
  agents: Map<string, ManagedProcess>,
  startAgent: (h: LabHost, level?: string) => ManagedProcess,
  results: string[],
  tmp: string,
): Promise<void> {
  const perHost = Math.ceil(ENDPOINTS / hosts.length);
  const expected = (hosts.length - 1) * perHost;
  progress(`${ENDPOINTS} endpoints: ${perHost} MACs behind one port per host`);
  for (const [i, h] of hosts.entries()) {
    h.exec('ip', ['link', 'add', 'wl0', 'type', 'veth', 'peer', 'name', 'wl1']);
    h.exec('ip', ['link', 'set', 'wl0', 'master', 'br42', 'up']);
    const lines = Array.from(
      { length: perHost },
      (_, j) =>
        `fdb add 02:aa:${(i + 1).toString(16).padStart(2, '0')}:00:${((j >> 8) & 0xff).toString(16).padStart(2, '0')}:${(j & 0xff).toString(16).padStart(2, '0')} dev wl0 master static\n`,
    );
    const file = path.join(tmp, `fdb-${h.name}`);
    fs.writeFileSync(file, lines.join(''));
    h.exec('bridge', ['-batch', file]);
  }
  const startedAt = Date.now();
  const fdbCount = (h: LabHost) =>
    h
      .exec('bridge', ['fdb', 'show', 'dev', 'vxlan42'])
      .split('\n')
      .filter((l) => l.includes(' dst ') && !l.startsWith(FLOOD_MAC)).length;
  // Every 2 s: counting the kernel's tables on every host is not free.
  await eventually(
    () => {
      const counts = hosts.map(fdbCount);
      progress(`programmed: min ${Math.min(...counts)} / ${expected}`);
      assert.ok(
        counts.every((c) => c >= expected),
        'every host programmed every remote endpoint',
      );
    },
    600_000,
    2000,
  );
  results.push(
    `${ENDPOINTS} endpoints over ${hosts.length} hosts: every host programmed ${expected} remote MACs after ${ms(Date.now() - startedAt)}`,
  );
  await sleep(5000);
  const pids = hosts.map((h) => agentPid(agents.get(h.name)!));
  const before = pids.map(processStats);
  // VTEP probes are ICMP echo requests: counted where they arrive.
  for (const h of hosts)
    h.exec('nft', [
      'add table inet probes; add chain inet probes input { type filter hook input priority 0; }; ' +
        'add rule inet probes input icmp type echo-request counter',
    ]);
  await sleep(10_000);
  const after = pids.map(processStats);
  const probes = hosts.map((h) =>
    Number(/packets (\d+)/.exec(h.exec('nft', ['list', 'table', 'inet', 'probes']))?.[1]),
  );
  for (const h of hosts) h.exec('nft', ['delete table inet probes']);
  const hz = 100;
  const cpu = after.map((a, i) => ((a.cpuTicks - before[i].cpuTicks) / hz / 10) * 100);
  const rss = after.map((a) => a.rssMb);
  results.push(
    `steady state, per agent: RSS median ${Math.round(quantile(rss, 0.5))} MB (max ${Math.round(Math.max(...rss))} MB), CPU median ${quantile(cpu, 0.5).toFixed(1)}% of a core (max ${Math.max(...cpu).toFixed(1)}%); ` +
      `VTEP probes received per host: ${(Math.max(...probes) / 10).toFixed(1)}/s at most`,
  );

  const victim = hosts[1];
  progress(`restarting ${victim.name}`);
  const kernelBefore = fdbCount(victim);
  await agents.get(victim.name)!.stop('SIGTERM');
  const spawnedAt = Date.now();
  const agent = startAgent(victim, 'info');
  const synced = await agent.waitForLog(
    (r) => r.msg === 'fdb entries' && Number(r.desired) >= expected * 2 && r.desired === r.programmed,
    120_000,
  );
  const removed = agent
    .logRecords()
    .filter((r) => r.msg === 'fdb entries')
    .reduce((sum, r) => sum + Number(r.removed), 0);
  const written = agent.logRecords().filter((r) => r.msg === 'fdb changes written').length;
  results.push(
    `agent restart with ${kernelBefore} remote entries: kernel matches the cluster ${ms(Date.parse(String(synced.time)) - spawnedAt)} after the process started (${String(synced.msSinceStart)} ms after the agent began); valid entries deleted: ${removed}; passes that wrote anything: ${written} (target <= 1 s from the agent's start: the 10,000-record join snapshot verified and programmed, 0 deleted)`,
  );
}

// The agent runs under `ip netns exec`, which execs node: the child's pid is the agent's.
function agentPid(p: ManagedProcess): number {
  return p.child.pid!;
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
