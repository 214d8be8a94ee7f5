import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import type { EndpointServiceClient } from '../../generated/vxgossip/v1/EndpointService';
import type { FdbEvent__Output } from '../../generated/vxgossip/v1/FdbEvent';
import type { WatchRequest } from '../../generated/vxgossip/v1/WatchRequest';
import { eventually } from '../../lab/eventually';
import { ServerHandle, startServer } from '../../lab/server-process';
import { ReplicatingAgent } from '../../lab/replicating-agent';
import { operatorCredentials } from '../../lab/credentials';

interface Watcher {
  events: FdbEvent__Output[];
  error?: grpc.ServiceError;
  cancel(): void;
}

// WatchFdb against a real server process, fed by agent streams: snapshot, live changes as filters
// see them, resumption without loss, liveness withdrawals.
describe('FDB watch (real server process)', function () {
  this.timeout(60_000);
  let server: ServerHandle;
  let client: EndpointServiceClient;
  let h1: ReplicatingAgent;
  let h2: ReplicatingAgent;
  const MAC = '02:00:00:00:00:01';

  function watch(request: WatchRequest): Watcher {
    const call = client.watchFdb(request);
    const w: Watcher = { events: [], cancel: () => call.cancel() };
    call.on('data', (e: FdbEvent__Output) => w.events.push(e));
    call.on('error', (err: grpc.ServiceError) => (w.error = err));
    return w;
  }
  const summary = (w: Watcher) =>
    w.events
      .filter((e) => e.type !== 'EVENT_TYPE_SNAPSHOT_END')
      .map((e) => `${e.type.replace('EVENT_TYPE_', '')} ${e.entry?.mac} ${e.entry?.node}`);

  before(async () => {
    server = await startServer();
    client = new (v1().EndpointService)(server.address, operatorCredentials(server.dataDir));
    h1 = await ReplicatingAgent.enrol(server, 'h1', '198.18.0.11');
    h2 = await ReplicatingAgent.enrol(server, 'h2', '198.18.0.12');
  });
  after(async () => {
    h1?.close();
    h2?.close();
    client?.close();
    await server?.proc.stop();
  });

  it('sends a snapshot, then each change once, and a move as each filter sees it', async () => {
    assert.ok(await h1.replicate([h1.endpoint(42, '02:00:00:00:00:aa')]));
    const all = watch({});
    const onH1 = watch({ filter: { node: 'h1' } });
    await eventually(() => assert.equal(all.events.at(-1)?.type, 'EVENT_TYPE_SNAPSHOT_END'));
    assert.deepEqual(summary(all), ['SNAPSHOT 02:00:00:00:00:aa h1']);

    assert.ok(await h1.replicate([h1.endpoint(42, MAC)]));
    assert.ok(await h2.replicate([h2.endpoint(42, MAC, { mobilitySeq: 1 })]));
    await eventually(() => assert.equal(all.events.length, 4));
    assert.deepEqual(summary(all).slice(1), [`ADDED ${MAC} h1`, `UPDATED ${MAC} h2`]);
    await eventually(() => assert.deepEqual(summary(onH1).slice(1), [`ADDED ${MAC} h1`, `REMOVED ${MAC} h1`]));
    const revisions = all.events.slice(2).map((e) => Number(e.revision));
    assert.ok(revisions[1] > revisions[0], `revisions increase: ${revisions.join(',')}`);
    all.cancel();
    onH1.cancel();
  });

  it('resumes from a revision with exactly the changes missed, and refuses a revision from the future', async () => {
    const first = watch({});
    await eventually(() => assert.equal(first.events.at(-1)?.type, 'EVENT_TYPE_SNAPSHOT_END'));
    const seen = Number(first.events.at(-1)!.revision);
    first.cancel();

    const macs = ['02:00:00:00:01:01', '02:00:00:00:01:02', '02:00:00:00:01:03'];
    for (const mac of macs) assert.ok(await h1.replicate([h1.endpoint(42, mac)]));
    const resumed = watch({ fromRevision: seen });
    await eventually(() =>
      assert.deepEqual(
        summary(resumed),
        macs.map((m) => `ADDED ${m} h1`),
      ),
    );
    assert.ok(
      resumed.events.every((e) => Number(e.revision) > seen),
      'no snapshot and nothing already seen',
    );
    resumed.cancel();

    // Far ahead of any store's counter (etcd's revisions are not consecutive).
    const future = watch({ fromRevision: seen + 2 ** 40 });
    await eventually(() => assert.equal(future.error?.code, grpc.status.OUT_OF_RANGE));
    assert.match(future.error!.details, /ahead of the server/);
  });

  it('withdraws the entries of a node gossip reports dead and restores them when it returns', async () => {
    const h3 = await ReplicatingAgent.enrol(server, 'h3', '198.18.0.13');
    try {
      assert.ok(await h3.replicate([h3.endpoint(42, '02:00:00:00:03:01'), h3.endpoint(42, '02:00:00:00:03:02')]));
      h3.close();
      const w = watch({ filter: { node: 'h3' } });
      await eventually(() => assert.equal(w.events.at(-1)?.type, 'EVENT_TYPE_SNAPSHOT_END'));
      assert.equal(summary(w).length, 2, 'a disconnected agent is not dead: its entries stay');

      h2.reportMembership([{ name: 'h3', vtep: '198.18.0.13', state: 'NODE_STATE_DEAD' }]);
      await eventually(() =>
        assert.deepEqual(summary(w).slice(2).sort(), ['REMOVED 02:00:00:00:03:01 h3', 'REMOVED 02:00:00:00:03:02 h3']),
      );
      h2.reportMembership([{ name: 'h3', vtep: '198.18.0.13', state: 'NODE_STATE_ALIVE' }]);
      await eventually(() =>
        assert.deepEqual(summary(w).slice(4).sort(), ['ADDED 02:00:00:00:03:01 h3', 'ADDED 02:00:00:00:03:02 h3']),
      );
      const revisions = w.events.slice(3).map((e) => Number(e.revision));
      assert.equal(
        new Set(revisions).size,
        revisions.length,
        `each liveness change has its own revision: ${revisions.join(',')}`,
      );
      w.cancel();
    } finally {
      h3.close();
    }
  });
});
