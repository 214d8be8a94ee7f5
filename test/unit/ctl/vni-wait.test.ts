import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../../../common/proto';
import type { Node } from '../../../generated/vxgossip/v1/Node';
import { CtlTestServers, ctlAsync as ctl } from '../../helpers/ctl-server';

const host = (name: string, revision: number, vnis: number[], over: Partial<Node> = {}): Node => ({
  name,
  vtep: '198.18.0.1',
  state: 'NODE_STATE_ALIVE',
  connected: true,
  configRevision: revision,
  programming: vnis.map((vni) => ({ vni, desired: 0, programmed: 0, devicesReady: true, conflicts: [] })),
  ...over,
});

// `ctl vni create|update|delete --wait` against a server whose node watch answers what a test sets.
describe('ctl vni --wait (real binary, fake server)', function () {
  this.timeout(30_000);
  const servers = new CtlTestServers();
  let at: string[];
  let nodes: Node[] = [];

  before(async () => {
    await servers.start();
    const vni = { id: 42, name: 'vni-42', mode: 'l2', dstport: 4789, revision: 7 };
    const answer = (value: unknown) => (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, value);
    at = await servers.serve([
      [
        v1().VniService.service,
        { CreateVni: answer(vni), UpdateVni: answer(vni), DeleteVni: answer({ revision: 7, detached: 0 }) },
      ],
      [
        v1().NodeService.service,
        {
          // The snapshot only: a host that is behind stays behind.
          WatchNodes: (call: grpc.ServerWritableStream<unknown, unknown>) => {
            for (const node of nodes) call.write({ type: 'EVENT_TYPE_SNAPSHOT', node });
            call.write({ type: 'EVENT_TYPE_SNAPSHOT_END' });
          },
        },
      ],
    ]);
  });

  after(() => servers.stop());

  it('returns once every live host has realised the VNI, naming those not waited for', async () => {
    nodes = [
      host('h1', 7, [42]),
      host('h2', 8, [42]),
      host('h3', 3, [], { connected: false, state: 'NODE_STATE_AGENT_DOWN' }),
    ];
    const r = await ctl([...at, 'vni', 'create', '42', '--wait']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      'VNI 42 (vni-42) created at revision 7\n' +
        'realised on every live host: h1, h2\n' +
        'not waited for (not live): h3 (agent-down)\n',
    );
  });

  it('fails with exit 3 at the deadline, naming each host that did not get there and what it reports', async () => {
    nodes = [
      host('h1', 7, [42]),
      host('h2', 6, [42]),
      host('h3', 7, [], { connected: false, state: 'NODE_STATE_ALIVE' }),
    ];
    const started = Date.now();
    const r = await ctl([...at, 'vni', 'update', '42', '--mtu', '1400', '--wait=1s']);
    assert.ok(Date.now() - started >= 1000);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /^VNI 42 updated \(mtu\) at revision 7\n$/);
    assert.equal(
      r.stderr,
      'ctl vni update: not realised on every live host within 1s: ' +
        'h2 (at configuration revision 6, not yet 7), h3 (not connected to the server (gossip: alive))\n',
    );
  });

  it('waits for a deletion to reach every live host', async () => {
    nodes = [host('h1', 7, []), host('h2', 6, [42])];
    const failed = await ctl([...at, 'vni', 'delete', '42', '--wait=500ms']);
    assert.equal(failed.status, 3, failed.stderr);
    assert.match(failed.stderr, /h2 \(at configuration revision 6, not yet 7\)/);
    nodes = [host('h1', 7, []), host('h2', 7, [])];
    const done = await ctl([...at, 'vni', 'delete', '42', '--wait=5s']);
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, /\nremoved from every live host: h1, h2\n$/);
  });

  it('refuses `--wait 5s` (its value must follow "=") and a duration without a unit', async () => {
    const spaced = await ctl([...at, 'vni', 'create', '42', '--wait', '5s']);
    assert.equal(spaced.status, 2);
    assert.match(spaced.stderr, /--wait takes its value after "=": --wait=5s/);
    const bare = await ctl([...at, 'vni', 'create', '42', '--wait=5']);
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /--wait: must be a duration such as 500ms, 180s, 3m or 1h, got "5"/);
  });
});
