import { strict as assert } from 'node:assert';
import { Followed, triggerFor } from '../../../../node-agent/kernel/kernel-watch';
import { ownerAlias } from '../../../../node-agent/kernel/vni-devices';
import { RTPROT_VXGOSSIP } from '../../../../node-agent/netlink';
import type { NetlinkEvent } from '../../../../node-agent/netlink';

const followed: Followed = { ports: [{ vni: 42, vxlanIndex: 10, bridgeIndex: 11, headEnd: true }], l3Devices: [20] };
const pass = (event: NetlinkEvent) => triggerFor(event, followed)?.pass;

describe('kernel watch: which notifications trigger which pass', () => {
  it('a full pass when notifications were lost or one of our devices was deleted', () => {
    assert.equal(pass({ kind: 'resync', reason: 'ENOBUFS' }), 'full');
    const link = { index: 10, name: 'vxlan42', kind: 'vxlan', mtu: 1450, up: true, alias: ownerAlias(42) } as never;
    assert.equal(pass({ kind: 'link', action: 'del', link }), 'full');
    assert.equal(pass({ kind: 'link', action: 'new', link }), undefined, 'our own creation is not news');
    assert.equal(
      pass({ kind: 'link', action: 'del', link: { index: 5, name: 'eth9', alias: undefined } as never }),
      undefined,
      "someone else's device",
    );
  });

  it('an FDB pass when an entry we own is deleted, not when we write one', () => {
    assert.equal(
      pass({
        kind: 'fdb',
        action: 'del',
        entry: { ifindex: 10, mac: '02:00:00:00:00:02', dst: '198.18.0.12', self: true },
      }),
      'fdb',
    );
    assert.equal(
      pass({
        kind: 'fdb',
        action: 'del',
        entry: { ifindex: 10, mac: '02:00:00:00:00:02', externLearn: true, master: 11 },
      }),
      'fdb',
    );
    assert.equal(
      pass({
        kind: 'fdb',
        action: 'new',
        entry: { ifindex: 10, mac: '02:00:00:00:00:02', dst: '198.18.0.12', self: true },
      }),
      undefined,
    );
    assert.equal(
      pass({ kind: 'neigh', action: 'del', neighbour: { ifindex: 11, ip: '10.42.0.2', protocol: RTPROT_VXGOSSIP } }),
      'fdb',
    );
    assert.equal(
      pass({ kind: 'neigh', action: 'del', neighbour: { ifindex: 20, ip: '10.77.0.2', protocol: RTPROT_VXGOSSIP } }),
      'fdb',
      'L3 device',
    );
    assert.equal(
      pass({ kind: 'neigh', action: 'del', neighbour: { ifindex: 11, ip: '10.42.0.9' } }),
      undefined,
      "an operator's neighbour",
    );
    assert.equal(
      pass({ kind: 'neigh', action: 'del', neighbour: { ifindex: 99, ip: '10.42.0.2', protocol: RTPROT_VXGOSSIP } }),
      undefined,
      'not a bridge we follow',
    );
    assert.equal(
      pass({ kind: 'route', action: 'del', route: { dst: '10.77.0.2/32', protocol: RTPROT_VXGOSSIP } }),
      'fdb',
    );
    assert.equal(pass({ kind: 'route', action: 'del', route: { dst: '192.0.2.0/24' } }), undefined);
    const rule = { family: 4 as const, priority: 770, action: 'lookup' as const, table: 1_000_000_077, iif: 'vxe1' };
    assert.equal(pass({ kind: 'rule', action: 'del', rule: { ...rule, protocol: RTPROT_VXGOSSIP } }), 'fdb');
    assert.equal(
      pass({ kind: 'rule', action: 'new', rule: { ...rule, protocol: RTPROT_VXGOSSIP } }),
      undefined,
      'our own add',
    );
    assert.equal(pass({ kind: 'rule', action: 'del', rule }), undefined, "an operator's rule");
  });

  it('an FDB pass when a MAC is learned or ages out on a local port of our bridge', () => {
    assert.equal(
      pass({
        kind: 'fdb',
        action: 'new',
        entry: { ifindex: 12, mac: '02:00:00:00:00:07', master: 11, state: 'dynamic' },
      }),
      'fdb',
    );
    assert.equal(
      pass({
        kind: 'fdb',
        action: 'del',
        entry: { ifindex: 12, mac: '02:00:00:00:00:07', master: 11, state: 'dynamic' },
      }),
      'fdb',
    );
    assert.equal(
      pass({
        kind: 'fdb',
        action: 'new',
        entry: { ifindex: 12, mac: '02:00:00:00:00:07', master: 11, state: 'permanent' },
      }),
      undefined,
      "a port's own address",
    );
    assert.equal(
      pass({
        kind: 'fdb',
        action: 'new',
        entry: { ifindex: 12, mac: '02:00:00:00:00:07', master: 99, state: 'dynamic' },
      }),
      undefined,
      'another bridge',
    );
  });
});
