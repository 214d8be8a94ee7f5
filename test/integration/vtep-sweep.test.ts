import { strict as assert } from 'node:assert';
import { LabHost, LabNetwork } from '../../lab/network';
import { eventually } from '../../lab/eventually';
import { makeTempDir } from '../../lab/temp-dir';
import { LabCluster } from '../../lab/lab-cluster';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { tearDownLab } from '../helpers/lab-teardown';

// Gossip probing slowed to once in 30 s, so that only the sweep can notice a gone host in time: each
// agent pings one peer's VTEP every 500 ms (the default), the hosts taking turns, and one unanswered
// ping starts the fast check that withdraws the host everywhere it cannot be reached.
describe('the VTEP sweep finds a gone host without gossip (3 hosts, real vxlan)', function () {
  this.timeout(120_000);
  let lab: LabNetwork;
  let cluster: LabCluster;
  const dir = makeTempDir('sweep');

  const remoteDsts = (host: LabHost) =>
    (JSON.parse(host.exec('bridge', ['-j', 'fdb', 'show', 'dev', 'vxlan42']) || '[]') as Array<{ dst?: string }>)
      .map((e) => e.dst)
      .filter((d): d is string => d !== undefined);
  const forwardsTo = (host: LabHost, to: LabHost) => remoteDsts(host).includes(to.ip);

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3']);
    cluster = await LabCluster.start(lab, dir, {
      agentArgs: () => ['--gossip-probe-interval', '30s', '--gossip-probe-timeout', '500ms'],
    });
    cluster.ctl('vni', 'create', '42');
    const [h1, h2, h3] = cluster.hosts;
    await eventually(() => assert.ok(forwardsTo(h1, h3) && forwardsTo(h2, h3) && forwardsTo(h3, h1)), 30_000);
  });

  tearDownLab(() => lab, dir);

  it('withdraws a host whose underlay link is cut on every other host within 3 s, and restores it', async () => {
    const [h1, h2, h3] = cluster.hosts;
    const cutAt = Date.now();
    lab.setLink(h3.name, false);
    try {
      await eventually(() => assert.ok(!forwardsTo(h1, h3) && !forwardsTo(h2, h3), 'withdrawn on h1 and h2'), 3000, 50);
    } finally {
      lab.setLink(h3.name, true);
    }
    const withdrawnAfterMs = Date.now() - cutAt;
    // Nothing but the sweep could have noticed: gossip had not suspected h3.
    for (const h of [h1, h2]) {
      const records = cluster.agent(h).logRecords();
      assert.ok(
        !records.some((r) => r.msg === 'peer state' && r.peer === h3.name && r.state !== 'alive'),
        `${h.name}: gossip changed its mind about h3 within ${withdrawnAfterMs} ms, the test proves nothing`,
      );
    }
    await eventually(() => assert.ok(forwardsTo(h1, h3) && forwardsTo(h2, h3), 'back on h1 and h2'), 20_000, 100);
  });
});
