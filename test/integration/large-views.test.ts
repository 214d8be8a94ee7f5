import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import { repoRoot } from '../../common/paths';
import type { EndpointServiceClient } from '../../generated/vxgossip/v1/EndpointService';
import type { EndpointEvent__Output } from '../../generated/vxgossip/v1/EndpointEvent';
import type { Record } from '../../generated/vxgossip/v1/Record';
import { eventually } from '../../lab/eventually';
import { ServerHandle, startServer } from '../../lab/server-process';
import { ReplicatingAgent } from '../../lab/replicating-agent';
import { operatorCredentials } from '../../lab/credentials';
import { numberedMac } from '../../lab/numbered-mac';
import { removeTempDir } from '../../lab/temp-dir';
import { StalledWatcher } from '../../lab/stalled-watcher';

const RECORDS = 200_000;
const BATCH = 4000;
const WATCHERS = 20;

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

// A server holding 200,000 records, as the issue that bounded it found it: watchers that stop reading
// cost bounded memory and are cut off with the revision to resume from; lists page from an index.
describe('a server with 200,000 records (real server process)', function () {
  this.timeout(180_000);
  let server: ServerHandle;
  let client: EndpointServiceClient;
  let agent: ReplicatingAgent;
  let counter = 0;

  // Announces `n` endpoints (new MACs, or the next versions of the first `n`), acknowledged durable.
  async function announce(n: number, from = 0): Promise<void> {
    for (let start = from; start < from + n; start += BATCH) {
      const records: Record[] = [];
      for (let i = start; i < Math.min(from + n, start + BATCH); i++) records.push(agent.endpoint(42, numberedMac(i)));
      assert.ok(await agent.replicate(records, 60_000), `batch at ${start} acknowledged`);
      counter += records.length;
    }
  }

  before(async () => {
    server = await startServer(undefined, undefined, ['--max-records-per-owner', String(RECORDS)]);
    client = new (v1().EndpointService)(server.address, operatorCredentials(server.dataDir));
    agent = await ReplicatingAgent.enrol(server, 'h1', '198.18.0.11');
    await announce(RECORDS);
  });
  after(async () => {
    agent?.close();
    client?.close();
    await server?.proc.stop();
    if (server) removeTempDir(server.dataDir);
  });

  it(`lets ${WATCHERS} watchers that never read grow the server by at most 50 MB`, async () => {
    const pid = server.proc.child.pid!;
    const before = rssMb(pid);
    const stalled = Array.from(
      { length: WATCHERS },
      () => new StalledWatcher(server.address, server.dataDir, 'vxgossip.v1.EndpointService/WatchEndpoints'),
    );
    try {
      // Long enough for the server to fill every stream's flow-control window many times over.
      await new Promise((r) => setTimeout(r, 5000));
      const grown = rssMb(pid) - before;
      assert.ok(grown <= 50, `RSS grew by ${Math.round(grown)} MB with ${WATCHERS} stalled watchers`);
    } finally {
      for (const w of stalled) w.close();
    }
  });

  it('cuts a watcher that stopped reading off with the revision to resume from, and it resumes without a gap', async () => {
    const revisionOf = (e: EndpointEvent__Output) => Number(e.revision);
    const call = client.watchEndpoints({ filter: {} });
    const seen: EndpointEvent__Output[] = [];
    let snapshotEnd = 0;
    // Reads the snapshot, then stops reading.
    await new Promise<void>((resolve, reject) => {
      call.on('data', (e: EndpointEvent__Output) => {
        if (e.type !== 'EVENT_TYPE_SNAPSHOT_END') return;
        snapshotEnd = revisionOf(e);
        call.pause();
        call.removeAllListeners('data');
        resolve();
      });
      call.on('error', reject);
    });
    const failed = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    await announce(60_000);
    call.on('data', (e: EndpointEvent__Output) => seen.push(e));
    call.resume();
    const err = await failed;
    assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED, err.message);
    const resumeAt = Number(/from_revision (\d+)/.exec(err.details)?.[1]);
    assert.equal(resumeAt, seen.length > 0 ? revisionOf(seen[seen.length - 1]) : snapshotEnd, err.details);

    const resumed = client.watchEndpoints({ filter: {}, fromRevision: resumeAt });
    const rest: EndpointEvent__Output[] = [];
    resumed.on('data', (e: EndpointEvent__Output) => rest.push(e));
    resumed.on('error', () => undefined);
    try {
      await eventually(() => assert.equal(seen.length + rest.length, 60_000), 30_000);
      // Every change once, in order, none from before the snapshot: the store's revisions need not be
      // consecutive (etcd's are not), only increasing.
      const revisions = [...seen, ...rest].map(revisionOf);
      assert.equal(new Set(revisions).size, 60_000, 'a revision delivered twice');
      assert.ok(revisions[0] > snapshotEnd, 'a change from before the snapshot');
      assert.ok(
        revisions.every((r, i) => i === 0 || r > revisions[i - 1]),
        'revisions out of order',
      );
    } finally {
      resumed.cancel();
    }
  });

  it('lists every endpoint with ctl, paged from an index', async () => {
    const listed = await promisify(execFile)(
      process.execPath,
      [path.join(repoRoot, 'bin', 'ctl'), ...server.ctlArgs, 'endpoint', 'list', '--output', 'json'],
      { maxBuffer: 1 << 30, timeout: 60_000 },
    );
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, RECORDS);
    assert.ok(counter >= RECORDS);
  });
});
