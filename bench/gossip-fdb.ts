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
// Usage: node dist/bench/gossip-fdb.js [--hosts 20] [--attaches 50] [--kills 10] [--endpoints 10000] [--insecure-gossip]
//          [--gossip-probe-interval DURATION --gossip-probe-timeout DURATION]
//          [--vtep-sweep-interval DURATION|0 --vtep-sweep-timeout DURATION]
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
import { serfReference } from './serf-reference';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '20' },
    attaches: { type: 'string', default: '50' },
    endpoints: { type: 'string', default: '0' },
    // Hosts made gone one after another, each replaced by a new one so that every kill is at --hosts.
    kills: { type: 'string', default: '10' },
    // Passed to every agent (their defaults otherwise).
    'gossip-probe-interval': { type: 'string' },
    'gossip-probe-timeout': { type: 'string' },
    'vtep-sweep-interval': { type: 'string' },
    'vtep-sweep-timeout': { type: 'string' },
    // Gossip in clear text: what encryption costs, next to the default run.
    'insecure-gossip': { type: 'boolean', default: false },
  },
});
const HOSTS = Number(values.hosts);
const ATTACHES = Number(values.attaches);
const ENDPOINTS = Number(values.endpoints);
const KILLS = Number(values.kills);
// serf agents killed for the reference (out of --hosts, without replacement).
const SERF_KILLS = 3;
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
// A withdrawal slower than this prints how the detection went.
const SLOW_WITHDRAWAL_MS = 2500;

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
      ...(
        ['gossip-probe-interval', 'gossip-probe-timeout', 'vtep-sweep-interval', 'vtep-sweep-timeout'] as const
      ).flatMap((flag) => (values[flag] ? [`--${flag}`, values[flag]] : [])),
    ]);
    agents.set(h.name, a);
    return a;
  };
  // A new host in a gone one's place: once every other host floods VNI 42 to it, it can be made gone too.
  const replaceHost = async (name: string) => {
    const fresh = lab.addHost(name);
    hosts.push(fresh);
    await startAgent(fresh).waitForLog((r) => r.msg === 'joined the gossip cluster', 60_000);
    await eventually(
      () => {
        for (const h of hosts) {
          if (h === fresh) continue;
          const fdb = JSON.parse(h.exec('bridge', ['-j', 'fdb', 'show', 'dev', 'vxlan42']) || '[]') as Array<{
            dst?: string;
          }>;
          assert.ok(
            fdb.some((e) => e.dst === fresh.ip),
            `${h.name} floods to ${name}`,
          );
        }
      },
      60_000,
      250,
    );
  };
  // How a slow detection went: when gossip first suspected the gone host, when a host first told the
  // others that it does not answer, and when the hosts withdrew it.
  const detectionTimeline = (victim: string, killedAt: number) => {
    const at = (msg: string, match: (r: LogRecord) => boolean) =>
      [...agents.entries()]
        .flatMap(([name, a]) =>
          a
            .logRecords()
            .filter((r) => r.msg === msg && match(r))
            .map((r) => ({ name, ms: Date.parse(String(r.time)) - killedAt })),
        )
        .filter((x) => x.ms >= 0)
        .sort((x, y) => x.ms - y.ms);
    const first = (xs: Array<{ name: string; ms: number }>) => (xs[0] ? `${xs[0].ms} ms (${xs[0].name})` : 'never');
    const suspected = at('suspecting an unresponsive node', (r) => r.node === victim);
    const told = at('told peers that our probes of a VTEP go unanswered', (r) => r.subject === victim);
    const doubted = at('a peer doubts the path to a host: probing its VTEP', (r) => r.subject === victim);
    const withdrawn = at('withdrew the entries of a gone peer', (r) => r.peer === victim);
    return (
      `slow: ${victim} first suspected ${first(suspected)}, first told ${first(told)} (${told.length} told, ` +
      `${doubted.length} took it), withdrawn ${first(withdrawn)} .. ${withdrawn.at(-1)?.ms ?? '?'} ms`
    );
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
    joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr, serverDir, hosts.length + KILLS);
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

      // 3. A host gone -> withdrawn everywhere, many times: failure detection is randomised. (Only its
      // agent killed, its host still forwards: its entries are kept, and nothing is withdrawn.) Each
      // gone host is replaced by a new one, so that every kill happens at --hosts.
      const withdrawals: number[] = [];
      const perHostWithdrawals: number[] = [];
      for (let kill = 1; kill <= KILLS; kill++) {
        const victim = hosts[hosts.length - 1];
        progress(`${victim.name} gone (${kill} of ${KILLS})`);
        const killedAt = Date.now();
        // Off the wire first, as a host that loses power is: the kernel tears a deleted namespace down
        // in the background, and until it has, the namespace answers pings.
        lab.setLink(victim.name, false);
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
        if (Math.max(...withdrawn) > SLOW_WITHDRAWAL_MS) progress(detectionTimeline(victim.name, killedAt));
        hosts.splice(hosts.indexOf(victim), 1);
        await replaceHost(`h${HOSTS + kill}`);
      }
      const ourWithdrawal = quantile(withdrawals, 0.5);
      results.push(
        `host gone -> entries withdrawn on every other host (${KILLS} kills at ${HOSTS} hosts): p50 ${ms(ourWithdrawal)}, p99 ${ms(quantile(withdrawals, 0.99))} (${withdrawals.map(ms).join(', ')}); ` +
          `per host p50 ${ms(quantile(perHostWithdrawals, 0.5))}, p99 ${ms(quantile(perHostWithdrawals, 0.99))} (target p50 <= 1.5 s, p99 <= 3 s)`,
      );

      // Reference: serf on the same hosts with the same (LAN) timing.
      const serf = await serfReference(hosts, tmp, { kills: SERF_KILLS, pollMs: POLL_MS, progress });
      results.push(
        `serf user event -> every serf agent (${serf.events.length} events, ${serf.missed} not everywhere within 30 s): p50 ${ms(quantile(serf.events, 0.5))}, p99 ${ms(quantile(serf.events, 0.99))}; ratio ours/serf p50 ${(quantile(toAll, 0.5) / quantile(serf.events, 0.5)).toFixed(2)}`,
      );
      const serfFailure = quantile(serf.failures, 0.5);
      results.push(
        `serf kill -9 -> member-failed on every serf agent (${SERF_KILLS} kills): median ${ms(serfFailure)} (${serf.failures.map(ms).join(', ')}); ratio ours/serf ${(ourWithdrawal / serfFailure).toFixed(2)}`,
      );
    } else {
      await endpointsAtScale(hosts, agents, startAgent, results, tmp);
    }
  } finally {
    progress('tearing down');
    await lab.destroy();
    removeTempDir(tmp);
    // Also what was measured before a failure.
    console.log(`gossip FDB, ${HOSTS} hosts in network namespaces (${os.cpus().length} cores, kernel ${os.release()})`);
    for (const r of results) console.log(`  ${r}`);
  }
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
  // VTEP probes are ICMP echo requests: counted where they arrive, next to gossip's own datagrams
  // (memberlist's probes, acks and gossip).
  for (const h of hosts)
    h.exec('nft', [
      'add table inet probes; add chain inet probes input { type filter hook input priority 0; }; ' +
        'add rule inet probes input icmp type echo-request counter; ' +
        'add rule inet probes input udp dport 7946 counter',
    ]);
  await sleep(10_000);
  const after = pids.map(processStats);
  const counted = hosts.map((h) =>
    [...h.exec('nft', ['list', 'table', 'inet', 'probes']).matchAll(/packets (\d+)/g)].map((m) => Number(m[1])),
  );
  const probes = counted.map(([echo]) => echo);
  const gossip = counted.map(([, datagrams]) => datagrams);
  for (const h of hosts) h.exec('nft', ['delete table inet probes']);
  const hz = 100;
  const cpu = after.map((a, i) => ((a.cpuTicks - before[i].cpuTicks) / hz / 10) * 100);
  const rss = after.map((a) => a.rssMb);
  results.push(
    `steady state, per agent: RSS median ${Math.round(quantile(rss, 0.5))} MB (max ${Math.round(Math.max(...rss))} MB), CPU median ${quantile(cpu, 0.5).toFixed(1)}% of a core (max ${Math.max(...cpu).toFixed(1)}%); ` +
      `VTEP probes received per host: ${(Math.max(...probes) / 10).toFixed(1)}/s at most; ` +
      `gossip datagrams received per host: median ${(quantile(gossip, 0.5) / 10).toFixed(1)}/s`,
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
