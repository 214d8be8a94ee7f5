import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import { unaryCall } from '../../common/grpc-client';
import { messageCodec } from '../../common/proto-codec';
import { ServerHandle, startServer } from '../../lab/server-process';
import { ReplicatingAgent, StreamEnd } from '../../lab/replicating-agent';
import { NodeCredential, enrolNode } from '../../lab/enrolment';
import { operatorCredentials } from '../../lab/credentials';
import { numberedMac } from '../../lab/numbered-mac';
import { removeTempDir } from '../../lab/temp-dir';
import type { Hello } from '../../generated/vxgossip/v1/Hello';
import type { AgentMessage } from '../../generated/vxgossip/v1/AgentMessage';
import type { Node } from '../../generated/vxgossip/v1/Node';
import type { Record } from '../../generated/vxgossip/v1/Record';
import type { VniServiceClient } from '../../generated/vxgossip/v1/VniService';
import type { EndpointServiceClient } from '../../generated/vxgossip/v1/EndpointService';
import type { ListEndpointsResponse__Output } from '../../generated/vxgossip/v1/ListEndpointsResponse';
import { metricValue } from '../helpers/refusal-metrics';
import { ctl } from '../helpers/ctl-binary';

const VNI = 42;
const MB = 1 << 20;
// What the server may grow by while refusing a flood: the floods below cost it hundreds of MB on a
// build without the bounds (issue #13 measured +925 MB and +322 MB). Refused messages are garbage that
// V8 collects when it sees fit: up to about 80 MB of it was seen uncollected.
const RSS_GROWTH_LIMIT_MB = 150;
const MAX_RECORDS_PER_OWNER = 4096;
const FLOOD_RECORDS = 200_000;
const FLOOD_BATCH = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The promise's value, or a failure saying what did not happen in time.
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

function assertRefused(end: StreamEnd, code: keyof typeof grpc.status, field: string | RegExp): void {
  assert.equal(grpc.status[end.code], code, end.details);
  if (typeof field === 'string') assert.ok(end.details.startsWith(`${field}:`), `"${end.details}" names ${field}`);
  else assert.match(end.details, field);
  assert.ok(end.details.length < 400, `${end.details.length} characters of details echo the input`);
}

// An enrolled host that turns rogue: its own valid certificate, and whatever it chooses to send on
// the agent stream to a real server process. Each flood must be refused with a clear status or a
// counted drop, cost the server bounded memory, and leave it answering everyone else.
describe('the agent stream bounds what an enrolled host sends (rogue clients, real server)', function () {
  this.timeout(60_000);
  let server: ServerHandle;
  let metricsUrl: string;
  let rogue: NodeCredential;
  let vnis: VniServiceClient;
  const open: ReplicatingAgent[] = [];

  const connect = (hello: Partial<Hello> = {}) => {
    const agent = new ReplicatingAgent(server.address, rogue, 1, hello);
    open.push(agent);
    return agent;
  };
  const rss = () => rssMb(server.proc.child.pid!);
  const metric = async (name: string, labels: { [k: string]: string }) =>
    metricValue(await (await fetch(metricsUrl)).text(), name, labels) ?? 0;
  // What the issue saw fail for everyone after the floods: ctl node list and ctl status, in a few KB.
  const assertNodesListed = () => {
    for (const args of [['node', 'list'], ['status']]) {
      const r = ctl([...server.ctlArgs, '-o', 'json', ...args]);
      // ctl status exits 3 for a degraded cluster, as this one may be: it answered all the same.
      assert.ok(r.status === 0 || (args[0] === 'status' && r.status === 3), `ctl ${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.length < 10_000, `ctl ${args.join(' ')} printed ${r.stdout.length} characters`);
    }
  };

  async function start(dataDir?: string): Promise<void> {
    server = await startServer(dataDir, '127.0.0.1:0', ['--metrics', '127.0.0.1:0']);
    metricsUrl = String((await server.proc.waitForLog((r) => r.msg === 'metrics served')).address);
    vnis?.close();
    vnis = new (v1().VniService)(server.address, operatorCredentials(server.dataDir));
  }

  before(async () => {
    await start();
    rogue = await enrolNode(server, 'rogue', ['198.18.0.66']);
    await enrolNode(server, 'h2', ['198.18.0.12']);
    await unaryCall((o, cb) => vnis.createVni({ vni: { id: VNI } }, o, cb), 5000);
  });
  afterEach(() => {
    for (const agent of open.splice(0)) agent.close();
  });
  after(async () => {
    vnis?.close();
    await server?.proc.stop();
    if (server) removeTempDir(server.dataDir);
  });

  it('refuses 100 Hellos with 1 MB fields by name, in bounded memory; ctl node list and status still work', async () => {
    const fields: Array<[keyof Hello, string]> = [
      ['node', 'hello.node'],
      ['vtep', 'hello.vtep'],
      ['gossipAddress', 'hello.gossip_address'],
      ['agentVersion', 'hello.agent_version'],
    ];
    const big = 'x'.repeat(MB);
    const before = rss();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        fields.concat(fields, fields.slice(0, 2)).map(async ([field, name]) => {
          const end = await within(connect({ [field]: big }).ended, 10_000, `a 1 MB ${name} was not refused`);
          assertRefused(end, 'INVALID_ARGUMENT', name);
        }),
      );
      for (const agent of open.splice(0)) agent.close();
    }
    const growth = rss() - before;
    assert.ok(growth < RSS_GROWTH_LIMIT_MB, `the server grew by ${growth.toFixed(0)} MB`);
    assertNodesListed();
  });

  it('keeps ctl node list and status small after status reports with a 1 MB error and 100,000 VNIs', async () => {
    const reports = [
      [{ vni: VNI, desired: 1, programmed: 0, devicesReady: false, error: 'x'.repeat(MB) }],
      Array.from({ length: 100_000 }, (_, i) => ({ vni: i + 1, desired: 1, programmed: 1, devicesReady: true })),
    ];
    for (const [i, statuses] of reports.entries()) {
      const agent = connect();
      await within(agent.accepted, 5000, 'the Hello was not accepted');
      agent.reportStatus({ vnis: statuses, configRevision: 1 });
      // Answered after the report on the same stream: the report was taken and the stream goes on.
      assert.ok(await agent.replicate([agent.endpoint(VNI, `02:00:00:00:02:0${i}`)]), 'no answer after the report');
      assertNodesListed();
    }
  });

  it('holds one session per node: a second stream for the node replaces the first', async () => {
    const first = connect();
    await within(first.accepted, 5000, 'the first stream was not accepted');
    const second = connect();
    await within(second.accepted, 5000, 'the second stream was not accepted');
    await within(first.ended, 5000, 'the first stream was not ended when the second took over');
    assert.ok(await second.replicate([second.endpoint(VNI, '02:00:00:00:01:01')]), 'the second stream is served');
    const nodes = JSON.parse(ctl([...server.ctlArgs, '-o', 'json', 'node', 'list']).stdout) as Array<{
      name: string;
      connected: boolean;
    }>;
    assert.deepEqual(
      nodes.filter((n) => n.name === 'rogue').map((n) => n.connected),
      [true],
    );
  });

  it('refuses a 60,000-member membership report at once, answering GetVni meanwhile; takes 10,000', async () => {
    const members = (n: number): Node[] =>
      Array.from({ length: n }, (_, i) => ({ name: `m${i}`, state: 'NODE_STATE_ALIVE' }));
    // GetVni from another client, over and over while the reports are judged: the slowest answer.
    let probing = true;
    let slowestMs = 0;
    const probeErrors: string[] = [];
    const probes = (async () => {
      while (probing) {
        const started = Date.now();
        await unaryCall((o, cb) => vnis.getVni({ id: VNI }, o, cb), 10_000).catch((err: Error) =>
          probeErrors.push(err.message),
        );
        slowestMs = Math.max(slowestMs, Date.now() - started);
        await sleep(20);
      }
    })();
    try {
      const flood = connect();
      await within(flood.accepted, 5000, 'the Hello was not accepted');
      // Twice: merged member by member, the second would cost 60,000² comparisons (seconds).
      flood.reportMembership(members(60_000));
      flood.reportMembership(members(60_000));
      assertRefused(
        await within(flood.ended, 10_000, 'a 60,000-member report was not refused'),
        'RESOURCE_EXHAUSTED',
        /60000 members exceeds 10000/,
      );
      const large = connect();
      await within(large.accepted, 5000, 'the Hello was not accepted');
      large.reportMembership(members(10_000));
      // Acknowledged after the report on the same stream: it was taken and the stream goes on.
      assert.ok(await large.replicate([large.endpoint(VNI, '02:00:00:00:01:02')]), 'no answer after the report');
    } finally {
      probing = false;
      await probes;
    }
    assert.ok(slowestMs < 2000, `a GetVni took ${slowestMs} ms while the reports were judged`);
    assert.deepEqual(probeErrors, []);
  });

  it('refuses a record owned by another node, and counts it', async () => {
    const agent = connect();
    await within(agent.accepted, 5000, 'the Hello was not accepted');
    const counted = await metric('vxgossip_records_refused_total', { reason: 'spoofed' });
    const own = agent.endpoint(VNI, '02:00:00:00:01:03');
    const spoofed: Record = { ...own, owner: 'h2', endpoint: { ...own.endpoint, node: 'h2', vtep: '198.18.0.12' } };
    assert.equal(await agent.replicate([spoofed], 1500), undefined, 'the spoofed record was acknowledged');
    assert.equal(await metric('vxgossip_records_refused_total', { reason: 'spoofed' }), counted + 1);
    assert.equal((await listEndpoints()).filter((e) => e.node === 'h2').length, 0);
  });

  it(`holds ${MAX_RECORDS_PER_OWNER} records of a ${FLOOD_RECORDS}-record flood, counted, in bounded memory, across a restart`, async function () {
    this.timeout(120_000);
    const agent = connect();
    await within(agent.accepted, 5000, 'the Hello was not accepted');
    const before = rss();
    for (let b = 0; b < FLOOD_RECORDS / FLOOD_BATCH; b++)
      await agent.send(
        Array.from({ length: FLOOD_BATCH }, (_, i) => agent.endpoint(VNI, numberedMac(b * FLOOD_BATCH + i, 0x66))),
      );
    // A re-issue of a record the owner holds is taken, and answered only once every batch before it
    // on the stream was judged.
    const reissue = await agent.replicate([agent.endpoint(VNI, numberedMac(0, 0x66))], 60_000);
    assert.ok(reissue, 'the re-issue of a held record was not acknowledged');
    const growth = rss() - before;
    assert.ok(growth < RSS_GROWTH_LIMIT_MB, `the server grew by ${growth.toFixed(0)} MB`);
    const held = Math.floor(MAX_RECORDS_PER_OWNER / FLOOD_BATCH) * FLOOD_BATCH;
    assert.equal(
      await metric('vxgossip_records_refused_total', { reason: 'owner-limit' }),
      FLOOD_RECORDS / FLOOD_BATCH - held / FLOOD_BATCH,
      'every batch beyond the limit is counted',
    );
    assert.match(server.proc.logs(), /agent records refused.*--max-records-per-owner/);

    await server.proc.stop('SIGKILL');
    await start(server.dataDir);
    assert.equal(
      (await listEndpoints(held + 1)).filter((e) => e.node === 'rogue' && e.mac.endsWith(':66')).length,
      held,
    );
  });

  it('ends an agent stream with INVALID_ARGUMENT at a message it cannot decode, before or after Hello', async () => {
    const hello = messageCodec<AgentMessage, unknown>('vxgossip.v1.AgentMessage').encode({
      hello: { node: 'rogue', vtep: '198.18.0.66', incarnation: 1, agentVersion: 'lab', configRevision: 0 },
    });
    // Field 1 (hello, a message) whose length runs past the end of the bytes.
    const garbage = Buffer.from([0x0a, 0x05]);
    for (const messages of [[garbage], [hello, garbage]]) {
      const end = await rawAgentStream(messages);
      assertRefused(end, 'INVALID_ARGUMENT', /^request: not a valid \/vxgossip\.v1\.AgentService\/Connect message/);
    }
  });

  // Writes the given bytes as messages of the agent stream; the status the server ends it with.
  async function rawAgentStream(messages: Buffer[]): Promise<StreamEnd> {
    const raw = new grpc.Client(server.address, rogue.channelCredentials());
    try {
      const call = raw.makeBidiStreamRequest(
        '/vxgossip.v1.AgentService/Connect',
        (b: Buffer) => b,
        (b: Buffer) => b,
      );
      const ended = new Promise<StreamEnd>((resolve) => call.on('status', resolve));
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      for (const m of messages) call.write(m);
      return await within(ended, 5000, 'the stream was not ended');
    } finally {
      raw.close();
    }
  }

  // Every endpoint the server serves, page by page; stops once it has more than `atMost`.
  async function listEndpoints(atMost = Infinity) {
    const c: EndpointServiceClient = new (v1().EndpointService)(server.address, operatorCredentials(server.dataDir));
    const all: ListEndpointsResponse__Output['endpoints'] = [];
    try {
      let pageToken = '';
      do {
        const page = await unaryCall<ListEndpointsResponse__Output>(
          (o, cb) => c.listEndpoints({ pageToken }, o, cb),
          10_000,
        );
        all.push(...page.endpoints);
        pageToken = page.nextPageToken;
      } while (pageToken !== '' && all.length <= atMost);
    } finally {
      c.close();
    }
    return all;
  }
});
