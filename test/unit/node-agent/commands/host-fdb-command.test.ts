import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { dispatchCommand } from '../../../../node-agent/commands/command-dispatch';
import { hostFdbPage } from '../../../../node-agent/commands/host-fdb-command';
import type { TruthEntry } from '../../../../node-agent/kernel/kernel-truth';
import type { RealisedVnis } from '../../../../node-agent/kernel/realised-vnis';

const realised: RealisedVnis = {
  l2: [{ vni: 42, vxlanIndex: 10, bridgeIndex: 11, headEnd: true }],
  l3: [{ vni: 100, deviceIndex: 20, device: 'vxl3-4789', subnet: '10.100.0.0/24', datapath: 'lwt' }],
};
const mac = (i: number) =>
  `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
// 2500 entries in VNI 42, one route in VNI 100: sorted as the kernel reader sorts them.
const entries: TruthEntry[] = [
  ...Array.from({ length: 2500 }, (_, i) => ({ vni: 42, kind: 'vxlan', mac: mac(i), vtep: '198.18.0.2', ip: '' })),
  { vni: 100, kind: 'route', mac: '', vtep: '198.18.0.2', ip: '10.100.0.2' },
];

function handlers() {
  const reads: number[] = [];
  const hostFdb = (c: Parameters<typeof hostFdbPage>[1]) =>
    hostFdbPage(
      {
        name: 'h1',
        realised: () => realised,
        read: async (_r, vni) => {
          reads.push(vni);
          return entries.filter((e) => vni === 0 || e.vni === vni);
        },
      },
      c,
    );
  const ask = (req: { vni?: number; pageSize?: number; pageToken?: string }) =>
    dispatchCommand(
      {
        id: '1',
        cmd: 'hostFdb',
        hostFdb: { node: 'h1', vni: req.vni ?? 0, pageSize: req.pageSize ?? 0, pageToken: req.pageToken ?? '' },
      },
      { hostFdb },
      'test',
    );
  return { ask, reads };
}

describe('agent command: what the kernel holds, a page at a time', () => {
  it('pages 1000 entries at most, following each token to the end without loss or repeat', async () => {
    const { ask } = handlers();
    const seen: TruthEntry[] = [];
    let token = '';
    let pages = 0;
    do {
      const res = await ask({ pageToken: token });
      assert.equal(res.error, undefined, res.error);
      assert.ok(res.hostFdb!.entries!.length <= 1000);
      assert.deepEqual(res.hostFdb!.vnis, [42, 100]);
      seen.push(...(res.hostFdb!.entries as TruthEntry[]));
      token = res.hostFdb!.nextPageToken!;
      pages++;
    } while (token !== '');
    assert.equal(pages, 3);
    assert.deepEqual(seen, entries);
  });

  it('reads one VNI when asked for one, and names only that VNI as realised', async () => {
    const { ask, reads } = handlers();
    const res = await ask({ vni: 100, pageSize: 10 });
    assert.deepEqual(reads, [100]);
    assert.deepEqual(res.hostFdb!.vnis, [100]);
    assert.deepEqual(res.hostFdb!.entries, [entries[2500]]);
    assert.equal(res.hostFdb!.nextPageToken, '');
  });

  it('refuses a page over 1000 entries and an oversized token with INVALID_ARGUMENT', async () => {
    const { ask, reads } = handlers();
    const big = await ask({ pageSize: 1001 });
    assert.equal(big.code, grpc.status.INVALID_ARGUMENT);
    assert.match(big.error!, /page_size: 1001 exceeds 1000/);
    const token = await ask({ pageToken: 'x'.repeat(257) });
    assert.equal(token.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(reads, []);
  });
});
