// Watch fan-out of the server (a real process), against a bare grpc-js stream in the same run:
//   1. W watchers on WatchFdb while C FDB changes flow in from 20 agent streams, first as fast as the
//      agents can push (delivery throughput, events/s summed over watchers), then paced at a rate
//      the watchers keep up with (latency from the agent's send to each watcher's receipt, p50 and
//      p99); the same events written by a bare grpc-js server, all at once and then at the same pace,
//      are the reference;
//   2. server RSS holding R records (and the same after a restart that reloads them from level);
//   3. listing those R records page by page (what `ctl endpoint list` does), and GetVni's latency
//      while ten such listings run, next to its latency on the idle server.
// Each of the server's stores in turn: level, and etcd (a 3-member cluster on loopback, started by the
// benchmark), so the figures of both stand next to each other and to the reference of the same run.
// Usage: node dist/bench/watch-fanout.js [--watchers 100] [--changes 10000] [--pace 500] [--records 100000]
//          [--stores level,etcd]
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { v1 } from '../common/proto';
import { repoRoot } from '../common/paths';
import type { EndpointServiceClient } from '../generated/vxgossip/v1/EndpointService';
import type { FdbEvent__Output } from '../generated/vxgossip/v1/FdbEvent';
import type { Record } from '../generated/vxgossip/v1/Record';
import { ManagedProcess } from '../lab/managed-process';
import { ReplicatingAgent } from '../lab/replicating-agent';
import { ServerRef, requestJoinToken } from '../lab/enrolment';
import { operatorCredentials } from '../lab/credentials';
import { startServer } from '../lab/server-process';
import { makeTempDir, removeTempDir } from '../lab/temp-dir';
import { LocalEtcd } from '../lab/local-etcd';
import { macNumber, numberedMac } from '../lab/numbered-mac';
import { silenceIpServerNameWarning } from '../common/cli';
import { unaryCall } from '../common/grpc-client';
import type { ListEndpointsResponse__Output } from '../generated/vxgossip/v1/ListEndpointsResponse';

const { values } = parseArgs({
  options: {
    watchers: { type: 'string', default: '100' },
    changes: { type: 'string', default: '10000' },
    records: { type: 'string', default: '100000' },
    pace: { type: 'string', default: '500' },
    stores: { type: 'string', default: 'level,etcd' },
  },
});
const STORES = values.stores.split(',');
for (const store of STORES)
  if (store !== 'level' && store !== 'etcd') throw new Error(`--stores: ${store}? level or etcd`);
const PACE = Number(values.pace);
const WATCHERS = Number(values.watchers);
const CHANGES = Number(values.changes);
const RECORDS = Number(values.records);
const AGENTS = 20;
const BATCH = 50;
const PACED_BATCH = 5;

const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const quantile = (xs: Float64Array, q: number) => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface Delivery {
  // Events received, over all watchers.
  received: number;
  latencies: Float64Array;
  firstMs: number;
  lastMs: number;
}

// Opens W watchers (each on its own connection, as separate clients would be) and resolves when all
// of them have received `expected` change events; `ready` once each has its snapshot, if one comes.
function watchers(
  address: string,
  credentials: grpc.ChannelCredentials,
  expected: number,
  sentAt: (e: FdbEvent__Output) => number,
  snapshot: boolean,
): { ready: Promise<void>; done: Promise<Delivery> } {
  const d: Delivery = { received: 0, latencies: new Float64Array(WATCHERS * expected), firstMs: 0, lastMs: 0 };
  const clients: EndpointServiceClient[] = [];
  let snapshotEnds = 0;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const done = new Promise<Delivery>((resolve, reject) => {
    for (let w = 0; w < WATCHERS; w++) {
      const client: EndpointServiceClient = new (v1().EndpointService)(address, credentials, {
        'grpc.use_local_subchannel_pool': 1,
      });
      clients.push(client);
      const call = client.watchFdb({});
      call.on('data', (e: FdbEvent__Output) => {
        if (e.type === 'EVENT_TYPE_SNAPSHOT_END') {
          if (++snapshotEnds === WATCHERS) resolveReady();
          return;
        }
        if (e.type !== 'EVENT_TYPE_ADDED') return;
        const now = Date.now();
        if (d.received === 0) d.firstMs = now;
        d.lastMs = now;
        d.latencies[d.received++] = now - sentAt(e);
        if (d.received === WATCHERS * expected) {
          for (const c of clients) c.close();
          resolve(d);
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (err.code !== grpc.status.CANCELLED) reject(new Error(`watcher ${w}: ${err.message}`));
      });
    }
  });
  if (!snapshot) resolveReady();
  return { ready, done };
}

function report(label: string, d: Delivery, feedSeconds?: number): { rate: number; p99: number } {
  const sorted = d.latencies.subarray(0, d.received).sort();
  const seconds = (d.lastMs - d.firstMs) / 1000;
  const rate = d.received / seconds;
  console.log(
    `  ${label}: ${d.received} events to ${WATCHERS} watchers in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s; ` +
      `latency p50 ${quantile(sorted, 0.5)} ms, p99 ${quantile(sorted, 0.99)} ms, max ${sorted[sorted.length - 1]} ms` +
      (feedSeconds ? `; ingest ${Math.round(CHANGES / feedSeconds)} changes/s (durable, acknowledged)` : ''),
  );
  return { rate, p99: quantile(sorted, 0.99) };
}

// Each agent sends its share in batches, one batch in flight, all agents at once; with a pace (changes
// per second over all agents), each agent spaces its batches to match.
async function feed(
  agents: ReplicatingAgent[],
  total: number,
  offset: number,
  batch: number,
  sentAt?: Float64Array,
  pace = 0,
): Promise<void> {
  const began = Date.now();
  await Promise.all(
    agents.map(async (agent, a) => {
      for (let start = a, n = 0; start < total; start += agents.length * batch, n++) {
        if (pace > 0) {
          // Agents take turns, as independent hosts would, rather than all sending at the same instant.
          const due = began + ((n + a / agents.length) * batch * agents.length * 1000) / pace;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
        const records: Record[] = [];
        const indices: number[] = [];
        for (let i = start; i < total && records.length < batch; i += agents.length) {
          records.push(agent.endpoint(42, numberedMac(offset + i)));
          indices.push(i);
        }
        const now = Date.now();
        if (sentAt) for (const i of indices) sentAt[i] = now;
        if (!(await agent.replicate(records, 30_000))) throw new Error(`agent ${agent.node}: batch not acknowledged`);
      }
    }),
  );
}

// The agents enrol as hosts do, with one join token for all of them, before anything is measured.
async function enrolAgents(server: ServerRef): Promise<ReplicatingAgent[]> {
  const token = await requestJoinToken(server, { uses: AGENTS });
  return Promise.all(
    Array.from({ length: AGENTS }, (_, a) => ReplicatingAgent.enrol(server, `h${a + 1}`, `198.18.0.${a + 1}`, token)),
  );
}

interface Run {
  rate: number;
  p99: number;
}

// Which store the servers under test use: their extra flags (with etcd, a keyspace of their own for
// each run; a restart within a run finds what it left).
interface Store {
  name: string;
  flags: string[];
}

let etcdRuns = 0;
const storeFor = (name: string, etcd: LocalEtcd | undefined): Store =>
  name === 'etcd'
    ? {
        name: `etcd (${etcd!.endpoints.length} members)`,
        flags: [
          ...['--store', 'etcd', '--etcd-endpoints', etcd!.endpoints.join(',')],
          ...['--etcd-prefix', `/bench-${process.pid}-${++etcdRuns}/`],
        ],
      }
    : { name: 'level', flags: [] };

// One run against our server: the watchers take their snapshot, then the agents send the changes.
async function ours(pace: number, store: Store): Promise<Run> {
  const server = await startServer(makeTempDir('bench-watch'), undefined, store.flags);
  const agents = await enrolAgents(server);
  try {
    const sentAt = new Float64Array(CHANGES);
    const w = watchers(
      server.address,
      operatorCredentials(server.dataDir),
      CHANGES,
      (e) => sentAt[macNumber(e.entry!.mac)],
      true,
    );
    await w.ready;
    progress(
      `${WATCHERS} watchers have their snapshot; ${AGENTS} agents send ${CHANGES} changes${pace ? ` at ${pace}/s` : ''}`,
    );
    const started = Date.now();
    await feed(agents, CHANGES, 0, pace ? PACED_BATCH : BATCH, sentAt, pace);
    const feedSeconds = (Date.now() - started) / 1000;
    const result = report(
      `vxgossip server on ${store.name}${pace ? `, paced at ${pace} changes/s` : ''}`,
      await w.done,
      feedSeconds,
    );
    const mem = memoryMb(server.proc.child.pid!);
    console.log(`  server memory after the fan-out: RSS ${Math.round(mem.rss)} MB, peak ${Math.round(mem.peak)} MB`);
    return result;
  } finally {
    for (const a of agents) a.close();
    await server.proc.stop();
    removeTempDir(server.dataDir);
  }
}

async function reference(pace: number): Promise<Run> {
  const args = ['--watchers', String(WATCHERS), '--events', String(CHANGES), '--rate', String(pace)];
  const proc = new ManagedProcess('reference', process.execPath, [
    path.join(repoRoot, 'dist', 'bench', 'grpc-stream-reference.js'),
    ...args,
  ]);
  try {
    const ready = await proc.waitForLog((r) => r.msg === 'reference ready', 15_000);
    progress(`reference: ${WATCHERS} watchers on a bare grpc-js stream${pace ? ` at ${pace} events/s` : ''}`);
    const credentials = grpc.credentials.createSsl(Buffer.from(String(ready.caPem)));
    const w = watchers(String(ready.address), credentials, CHANGES, (e) => Number(e.entry!.version!.counter), false);
    return report(`bare grpc-js stream (reference)${pace ? `, paced at ${pace} events/s` : ''}`, await w.done);
  } finally {
    await proc.stop();
  }
}

async function memory(store: Store): Promise<void> {
  const dataDir = makeTempDir('bench-records');
  // R records from 20 agents: more per agent than the default bound at R = 100,000.
  const limit = ['--max-records-per-owner', String(Math.max(4096, Math.ceil(RECORDS / AGENTS))), ...store.flags];
  let server = await startServer(dataDir, undefined, limit);
  const agents = await enrolAgents(server);
  try {
    const idle = memoryMb(server.proc.child.pid!);
    const started = Date.now();
    const chunk = Math.ceil(RECORDS / 10);
    for (let done = 0; done < RECORDS; done += chunk) {
      await feed(agents, Math.min(chunk, RECORDS - done), 1_000_000 + done, 500);
      progress(`  ${Math.min(RECORDS, done + chunk)}/${RECORDS} records replicated`);
    }
    const loadSeconds = (Date.now() - started) / 1000;
    const loaded = memoryMb(server.proc.child.pid!);
    await listing(server);
    for (const a of agents) a.close();
    await server.proc.stop();
    server = await startServer(dataDir, undefined, limit);
    const reloaded = memoryMb(server.proc.child.pid!);
    console.log(
      `  server on ${store.name} holding ${RECORDS} records: RSS ${Math.round(loaded.rss)} MB (idle ${Math.round(idle.rss)} MB, peak ${Math.round(loaded.peak)} MB), ` +
        `${Math.round(((loaded.rss - idle.rss) * 1024 * 1024) / RECORDS)} bytes/record; replicated at ${Math.round(RECORDS / loadSeconds)} records/s; ` +
        `after a restart that reloads them: RSS ${Math.round(reloaded.rss)} MB`,
    );
  } finally {
    for (const a of agents) a.close();
    await server.proc.stop();
    removeTempDir(dataDir);
  }
}

// Pages through every endpoint; resolves with each page's latency (ms).
async function listAll(client: EndpointServiceClient): Promise<number[]> {
  const pages: number[] = [];
  let pageToken = '';
  do {
    const began = performance.now();
    const res = await unaryCall<ListEndpointsResponse__Output>(
      (o, cb) => client.listEndpoints({ filter: {}, pageToken }, o, cb),
      30_000,
    );
    pages.push(performance.now() - began);
    pageToken = res.nextPageToken;
  } while (pageToken !== '');
  return pages;
}

async function listing(server: ServerRef): Promise<void> {
  const credentials = operatorCredentials(server.dataDir);
  const endpoints: EndpointServiceClient = new (v1().EndpointService)(server.address, credentials);
  const vnis = new (v1().VniService)(server.address, credentials);
  const ms = (xs: number[], q: number) => quantile(Float64Array.from(xs).sort(), q).toFixed(1);
  // GetVni latencies (ms) of `n` calls in a row.
  const getVni = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const began = performance.now();
      await unaryCall((o, cb) => vnis.getVni({ id: 42 }, o, cb), 30_000);
      out.push(performance.now() - began);
    }
    return out;
  };
  try {
    await unaryCall((o, cb) => vnis.createVni({ vni: { id: 42 } }, o, cb), 10_000);
    const began = Date.now();
    const pages = await listAll(endpoints);
    const seconds = (Date.now() - began) / 1000;
    const idle = await getVni(50);
    let listing = true;
    const listers = Promise.all(Array.from({ length: 10 }, () => listAll(endpoints))).finally(() => (listing = false));
    const busy: number[] = [];
    while (listing) busy.push(...(await getVni(1)));
    await listers;
    console.log(
      `  listing ${RECORDS} endpoints: ${pages.length} pages in ${seconds.toFixed(2)} s, page p50 ${ms(pages, 0.5)} ms, p99 ${ms(pages, 0.99)} ms; ` +
        `GetVni during 10 such listings: p50 ${ms(busy, 0.5)} ms, p99 ${ms(busy, 0.99)} ms (idle server: p50 ${ms(idle, 0.5)} ms, p99 ${ms(idle, 0.99)} ms)`,
    );
  } finally {
    endpoints.close();
    vnis.close();
  }
}

async function main(): Promise<void> {
  console.log(`watch fan-out: ${WATCHERS} watchers, ${CHANGES} FDB changes from ${AGENTS} agents`);
  const compare = (a: Run, b: Run) =>
    console.log(
      `  ratio (ours / reference): throughput ${(a.rate / b.rate).toFixed(2)}, p99 latency ${(a.p99 / b.p99).toFixed(2)}`,
    );
  const etcd = STORES.includes('etcd') ? await LocalEtcd.start(3) : undefined;
  try {
    const paces = PACE > 0 ? [0, PACE] : [0];
    for (const pace of paces) {
      const base = await reference(pace);
      for (const name of STORES) compare(await ours(pace, storeFor(name, etcd)), base);
    }
    if (RECORDS > 0) for (const name of STORES) await memory(storeFor(name, etcd));
  } finally {
    await etcd?.stop();
  }
}

silenceIpServerNameWarning();
main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
