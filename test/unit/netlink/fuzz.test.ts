import { strict as assert } from 'node:assert';
import * as C from '../../../node-agent/netlink/constants';
import { NetlinkDecodeError } from '../../../node-agent/netlink/errors';
import { encodeFdb } from '../../../node-agent/netlink/fdb';
import { decodeLink, encodeCreateLink, encodeDumpLinks } from '../../../node-agent/netlink/link';
import { NetlinkMessage } from '../../../node-agent/netlink/message';
import { encodeNeighbour } from '../../../node-agent/netlink/neigh';
import { decodeEvent } from '../../../node-agent/netlink/notifications';
import { encodeRoute } from '../../../node-agent/netlink/route';
import { encodeRule } from '../../../node-agent/netlink/rule';
import { NetlinkSocket } from '../../../node-agent/netlink/socket';
import { prng } from '../../helpers/prng';

const seeds: Buffer[] = [
  encodeCreateLink({
    name: 'vxlan42',
    kind: 'vxlan',
    mtu: 1450,
    alias: 'a',
    vxlan: {
      id: 42,
      local: '198.18.0.10',
      group: '239.1.1.1',
      port: 4789,
      srcPortRange: { min: 1, max: 2 },
      learning: false,
    },
  }),
  encodeCreateLink({ name: 'v0', kind: 'veth', peer: { name: 'v1' } }),
  encodeFdb(C.RTM_NEWNEIGH, 0, {
    ifindex: 3,
    mac: '02:00:00:00:00:01',
    dst: '2001:db8::1',
    vni: 42,
    port: 4789,
    via: 2,
  }),
  encodeNeighbour(C.RTM_DELNEIGH, 0, { ifindex: 3, ip: '10.0.0.1', mac: '02:00:00:00:00:01' }),
  encodeRoute(C.RTM_NEWROUTE, 0, { dst: '10.1.0.0/16', oif: 4, encap: { id: 42n, dst: '198.18.0.12', ttl: 3 } }),
  encodeRoute(C.RTM_NEWROUTE, 0, { dst: '2001:db8::/64', type: 'blackhole', table: 1_000_000_042 }),
  encodeRule(C.RTM_NEWRULE, 0, {
    family: 6,
    priority: 771,
    action: 'lookup',
    table: 1_000_000_042,
    iif: 'vxl3-8472',
    tunId: 42n,
    dst: '2001:db8::/64',
    protocol: 77,
  }),
];

function mutate(rand: () => number, base: Buffer): Buffer {
  const out = Buffer.from(base);
  const edits = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < edits; i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
  // Sometimes truncate, sometimes keep the header's (now wrong) length.
  return rand() < 0.3 ? out.subarray(0, Math.floor(rand() * out.length)) : out;
}

describe('netlink decoder fuzz', () => {
  it('object decoders throw nothing but NetlinkDecodeError on 50,000 mutated and random messages', () => {
    const rand = prng(42);
    const types = [C.RTM_NEWLINK, C.RTM_DELLINK, C.RTM_NEWNEIGH, C.RTM_DELNEIGH, C.RTM_NEWROUTE, C.RTM_DELRULE];
    let decoded = 0;
    for (let i = 0; i < 50_000; i++) {
      const base = seeds[i % seeds.length];
      const payload =
        i % 5 === 0
          ? Buffer.from(Array.from({ length: Math.floor(rand() * 96) }, () => Math.floor(rand() * 256)))
          : mutate(rand, base).subarray(C.NLMSG_HDRLEN);
      const message: NetlinkMessage = {
        type: i % 5 === 0 ? types[i % types.length] : base.readUInt16LE(4),
        flags: 0,
        seq: 0,
        portId: 0,
        payload,
      };
      try {
        decodeEvent(message);
        decoded++;
      } catch (err) {
        assert.ok(
          err instanceof NetlinkDecodeError,
          `message ${i} (${payload.toString('hex')}) threw ${(err as Error).stack}`,
        );
      }
    }
    assert.ok(decoded > 1000, 'most mutations still decode: the fuzzer reaches the attribute decoders');
  });

  it('the socket survives 20,000 garbage datagrams and keeps answering requests', async () => {
    const rand = prng(7);
    const socket = new NetlinkSocket();
    const problems: Error[] = [];
    const notifications: NetlinkMessage[] = [];
    socket.onProblem((e) => problems.push(e));
    socket.onNotification((m) => notifications.push(m));
    const feed = (socket as unknown as { onData(err: undefined, data: Buffer): void }).onData.bind(socket);
    try {
      for (let i = 0; i < 20_000; i++) {
        const parts = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
          mutate(rand, seeds[Math.floor(rand() * seeds.length)]),
        );
        if (i % 4 === 0)
          parts.push(Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))));
        feed(undefined, Buffer.concat(parts));
      }
      assert.ok(problems.length > 0 && problems.every((p) => p instanceof NetlinkDecodeError));
      // Still a working socket: a real dump round-trips through the kernel.
      const links = await socket.dump(
        encodeDumpLinks(),
        { operation: 'dump', object: 'links' },
        C.RTM_NEWLINK,
        decodeLink,
      );
      assert.ok(
        links.some((l) => l.name === 'lo'),
        'the loopback device at least',
      );
    } finally {
      socket.close();
    }
  });
});
