import { strict as assert } from 'node:assert';
import * as C from '../../../node-agent/netlink/constants';
import { bytesToIp, bytesToMac, ipToBytes, macToBytes } from '../../../node-agent/netlink/address-bytes';
import { parseAttributes, attrString, attrU32 } from '../../../node-agent/netlink/attributes';
import { encodeAddress } from '../../../node-agent/netlink/addr';
import { decodeFdb, encodeFdb } from '../../../node-agent/netlink/fdb';
import { decodeLink, encodeChangeLink, encodeCreateLink } from '../../../node-agent/netlink/link';
import { parseErrorReply, splitMessages } from '../../../node-agent/netlink/message';
import { MessageWriter } from '../../../node-agent/netlink/message-writer';
import { decodeNeighbour, encodeNeighbour } from '../../../node-agent/netlink/neigh';
import { decodeRoute, encodeRoute } from '../../../node-agent/netlink/route';
import { Rule, decodeRule, encodeRule } from '../../../node-agent/netlink/rule';
import { decodeEvent } from '../../../node-agent/netlink/notifications';
import { VxlanOptions, decodeVxlan, encodeVxlan } from '../../../node-agent/netlink/vxlan';

const payloadOf = (message: Buffer) => message.subarray(C.NLMSG_HDRLEN);

describe('netlink codec', () => {
  describe('addresses', () => {
    it('round-trips IPv4 and IPv6 in canonical (RFC 5952) form', () => {
      for (const ip of [
        '0.0.0.0',
        '198.18.0.10',
        '255.255.255.255',
        '::',
        '::1',
        '2001:db8::1',
        'fe80::1:2',
        '2001:db8:0:1:1:1:1:1',
        'ff02::1:ff00:1',
      ]) {
        assert.equal(bytesToIp(ipToBytes(ip)), ip);
      }
      assert.equal(bytesToIp(ipToBytes('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
      assert.deepEqual([...ipToBytes('::ffff:192.0.2.1')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
      assert.throws(() => ipToBytes('300.1.1.1'), /not an IPv4 or IPv6 address/);
    });

    it('parses MACs strictly and prints them lower-case', () => {
      assert.equal(bytesToMac(macToBytes('02:AB:cd:00:0f:ff')), '02:ab:cd:00:0f:ff');
      for (const bad of [
        '02:ab:cd:00:0f',
        '02:ab:cd:00:0f:ff:00',
        '02-ab-cd-00-0f-ff',
        'zz:ab:cd:00:0f:ff',
        '2:ab:cd:00:0f:ff',
        '',
      ]) {
        assert.throws(() => macToBytes(bad), /is not a MAC address/, bad);
      }
    });
  });

  describe('messages and attributes', () => {
    it('aligns attributes, sizes nests and sets the header length', () => {
      const w = new MessageWriter(C.RTM_NEWLINK, C.NLM_F_CREATE);
      w.u8(0).u8(0).u16(0).i32(0).u32(0).u32(0);
      w.attrString(C.IFLA_IFNAME, 'abc');
      const nest = w.nest(C.IFLA_LINKINFO);
      w.attrString(C.IFLA_INFO_KIND, 'vxlan');
      w.attrU32(7, 0xdeadbeef);
      w.end(nest);
      const msg = w.finish();
      assert.equal(msg.readUInt32LE(0), msg.length);
      assert.equal(msg.length % 4, 0);
      assert.equal(msg.readUInt16LE(6), C.NLM_F_CREATE | C.NLM_F_REQUEST);
      const attrs = parseAttributes(msg, C.NLMSG_HDRLEN + 16);
      assert.equal(attrString(attrs[C.IFLA_IFNAME]), 'abc');
      const inner = parseAttributes(attrs[C.IFLA_LINKINFO]!);
      assert.equal(attrString(inner[C.IFLA_INFO_KIND]), 'vxlan');
      assert.equal(attrU32(inner[7]), 0xdeadbeef);
      assert.equal(msg.readUInt16LE(C.NLMSG_HDRLEN + 16 + 8 + 2) & C.NLA_F_NESTED, C.NLA_F_NESTED);
    });

    it('splits concatenated messages and refuses a header that lies about its length', () => {
      const a = new MessageWriter(1, 0).u32(1).finish();
      const b = new MessageWriter(2, 0).u32(2).u8(9).finish();
      const seen: number[] = [];
      splitMessages(Buffer.concat([a, b]), (m) => seen.push(m.type));
      assert.deepEqual(seen, [1, 2]);
      const liar = Buffer.from(a);
      liar.writeUInt32LE(400, 0);
      assert.throws(() => splitMessages(liar, () => undefined), /claims 400 bytes/);
    });

    it('reads the kernel explanation from an extended ack', () => {
      const w = new MessageWriter(C.NLMSG_ERROR, C.NLM_F_CAPPED | C.NLM_F_ACK_TLVS);
      w.i32(-22);
      w.u32(16).u16(C.RTM_NEWLINK).u16(0).u32(5).u32(0);
      w.attrString(C.NLMSGERR_ATTR_MSG, 'Unknown device type');
      const message = w.finish();
      const flags = message.readUInt16LE(6) & ~C.NLM_F_REQUEST;
      assert.deepEqual(
        parseErrorReply({ type: C.NLMSG_ERROR, flags, seq: 5, portId: 0, payload: payloadOf(message) }),
        { errno: 22, kernelMessage: 'Unknown device type' },
      );
    });
  });

  describe('objects', () => {
    it('round-trips every vxlan option', () => {
      const options: VxlanOptions = {
        id: 16777215,
        group: '239.1.1.1',
        local: '198.18.0.10',
        dev: 3,
        ttl: 64,
        tos: 0x10,
        df: 'inherit',
        flowLabel: 0xabcde,
        port: 8472,
        srcPortRange: { min: 32768, max: 60999 },
        learning: false,
        proxy: true,
        rsc: true,
        l2miss: true,
        l3miss: false,
        udpCsum: false,
        udp6ZeroCsumTx: true,
        udp6ZeroCsumRx: true,
        ageing: 120,
        maxAddress: 5000,
        external: false,
        gbp: true,
        gpe: false,
        ttlInherit: false,
      };
      const w = new MessageWriter(0, 0);
      encodeVxlan(w, options);
      const decoded = decodeVxlan(parseAttributes(payloadOf(w.finish())));
      assert.deepEqual(decoded, { ...options, remote: undefined });
      const v6 = new MessageWriter(0, 0);
      encodeVxlan(v6, { id: 5, remote: '2001:db8::2', local: '2001:db8::1' });
      const d6 = decodeVxlan(parseAttributes(payloadOf(v6.finish())));
      assert.equal(d6.remote, '2001:db8::2');
      assert.equal(d6.local, '2001:db8::1');
      assert.throws(
        () => encodeVxlan(new MessageWriter(0, 0), { group: '239.1.1.1', remote: '198.18.0.1' }),
        /mutually exclusive/,
      );
    });

    it('encodes a link creation the kernel can read back as a link', () => {
      const msg = encodeCreateLink({
        name: 'vxlan42',
        kind: 'vxlan',
        mtu: 1450,
        up: true,
        vxlan: { id: 42, port: 4789 },
      });
      const link = decodeLink(payloadOf(msg));
      assert.equal(link.name, 'vxlan42');
      assert.equal(link.kind, 'vxlan');
      assert.equal(link.mtu, 1450);
      assert.equal(link.up, true);
      assert.equal(link.vxlan?.id, 42);
      const change = decodeLink(payloadOf(encodeChangeLink(7, 'bridge', { name: 'x', up: false, master: 0 })));
      assert.equal(change.index, 7);
      assert.equal(change.master, 0);
    });

    it('round-trips FDB entries with every field', () => {
      const entry = {
        ifindex: 9,
        mac: '02:00:00:00:00:2a',
        dst: '198.18.0.12',
        vni: 42,
        port: 4789,
        via: 2,
        vlan: 10,
        self: true,
        externLearn: true,
        sticky: true,
        state: 'permanent' as const,
        protocol: C.RTPROT_VXGOSSIP,
      };
      const decoded = decodeFdb(payloadOf(encodeFdb(C.RTM_NEWNEIGH, 0, entry)));
      assert.deepEqual(decoded, entry);
      assert.deepEqual(decodeFdb(payloadOf(encodeFdb(C.RTM_NEWNEIGH, 0, { ifindex: 3, mac: '02:00:00:00:00:01' }))), {
        ifindex: 3,
        mac: '02:00:00:00:00:01',
        state: 'permanent',
        self: true,
      });
    });

    it('round-trips neighbours and lightweight-tunnel routes', () => {
      const n = {
        ifindex: 4,
        ip: '10.42.0.2',
        mac: '02:00:00:00:00:02',
        state: 'permanent' as const,
        externLearn: false,
        router: false,
        proxy: false,
        protocol: C.RTPROT_VXGOSSIP,
      };
      assert.deepEqual(decodeNeighbour(payloadOf(encodeNeighbour(C.RTM_NEWNEIGH, 0, n))), n);
      const r = {
        dst: '172.16.30.0/24',
        oif: 5,
        table: 254,
        protocol: C.RTPROT_VXGOSSIP,
        scope: 'universe' as const,
        onlink: false,
        encap: { id: 42n, dst: '198.18.0.12', src: '198.18.0.10', ttl: 64, tos: 0 },
      };
      const decoded = decodeRoute(payloadOf(encodeRoute(C.RTM_NEWROUTE, 0, r)));
      assert.deepEqual(decoded, {
        ...r,
        type: 'unicast',
        encap: { ...r.encap, csum: false },
        gateway: undefined,
        prefsrc: undefined,
        priority: undefined,
      });
      assert.throws(() => encodeRoute(C.RTM_NEWROUTE, 0, { dst: '10.0.0.0/33' }), /not a valid prefix/);
    });

    it('encodes route types, tables past 255 and IPv6 tunnel checksums', () => {
      const local = payloadOf(
        encodeRoute(C.RTM_NEWROUTE, 0, { dst: '10.100.0.1/32', table: 1_000_000_100, type: 'local', oif: 1 }),
      );
      // rtm_table 0 (RT_TABLE_UNSPEC) in the header, the table in RTA_TABLE; scope host, type local.
      assert.deepEqual([local[4], local[6], local[7]], [0, C.RT_SCOPE_HOST, C.RTN_LOCAL]);
      assert.deepEqual(
        [decodeRoute(local).table, decodeRoute(local).type, decodeRoute(local).scope],
        [1_000_000_100, 'local', 'host'],
      );
      const blackhole = decodeRoute(payloadOf(encodeRoute(C.RTM_NEWROUTE, 0, { dst: '::/0', type: 'blackhole' })));
      assert.deepEqual([blackhole.dst, blackhole.type], ['::/0', 'blackhole']);
      const tunnel = { id: 300n, dst: '2001:db8:ff::12', csum: true };
      const routed = decodeRoute(
        payloadOf(encodeRoute(C.RTM_NEWROUTE, 0, { dst: '2001:db8:300::5/128', encap: tunnel })),
      );
      assert.deepEqual(routed.encap, { ...tunnel, src: undefined, ttl: undefined, tos: undefined });
      // A delete that names no type matches any (RTN_UNSPEC), as `ip route del` does.
      assert.equal(payloadOf(encodeRoute(C.RTM_DELROUTE, 0, { dst: '0.0.0.0/0', table: 1_000_000_100 }))[7], 0);
    });

    it('encodes address flags and proxy neighbour entries', () => {
      const attrs = parseAttributes(
        payloadOf(
          encodeAddress(C.RTM_NEWADDR, 0, { ifindex: 2, cidr: '2001:db8::5/64', nodad: true, noPrefixRoute: true }),
        ),
        8,
      );
      assert.equal(attrU32(attrs[C.IFA_FLAGS]), C.IFA_F_NODAD | C.IFA_F_NOPREFIXROUTE);
      const proxy = { ifindex: 7, ip: '2001:db8:300::1', proxy: true, protocol: C.RTPROT_VXGOSSIP };
      const payload = payloadOf(encodeNeighbour(C.RTM_NEWNEIGH, 0, proxy));
      assert.equal(payload[10], C.NTF_PROXY);
      assert.deepEqual(decodeNeighbour(payload), { ...proxy, state: 'permanent', externLearn: false, router: false });
    });
  });

  describe('policy routing rules', () => {
    const rule: Rule = {
      family: 4,
      priority: 771,
      action: 'lookup',
      table: 1_000_000_100,
      iif: 'vxl3-8472',
      tunId: 100n,
      dst: '10.100.0.0/24',
      protocol: C.RTPROT_VXGOSSIP,
    };

    it('lays out fib_rule_hdr and the attributes as iproute2 does', () => {
      const payload = payloadOf(encodeRule(C.RTM_NEWRULE, C.NLM_F_CREATE | C.NLM_F_EXCL, rule));
      // family, dst_len, src_len, tos, table (unspec: past 255), res1, res2, action, flags.
      assert.deepEqual([...payload.subarray(0, 12)], [C.AF_INET, 24, 0, 0, 0, 0, 0, C.FR_ACT_TO_TBL, 0, 0, 0, 0]);
      const attrs = parseAttributes(payload, 12);
      assert.equal(attrU32(attrs[C.FRA_PRIORITY]), 771);
      assert.equal(attrU32(attrs[C.FRA_TABLE]), 1_000_000_100);
      assert.equal(attrString(attrs[C.FRA_IIFNAME]), 'vxl3-8472');
      // The tunnel key is big-endian, as the kernel compares it with the decapsulated packet's.
      assert.equal(attrs[C.FRA_TUN_ID]!.toString('hex'), '0000000000000064');
      assert.deepEqual([...attrs[C.FRA_DST]!], [10, 100, 0, 0]);
      assert.equal(attrs[C.FRA_PROTOCOL]![0], C.RTPROT_VXGOSSIP);
    });

    it('round-trips lookup and drop rules of both families, and decodes them as notifications', () => {
      const both: Rule[] = [
        rule,
        { family: 6, priority: 770, action: 'lookup', table: 1_000_000_300, iif: 'vxe0123456789', protocol: 77 },
        { family: 6, priority: 772, action: 'lookup', table: 1_000_000_300, iif: 'lo', dst: '2001:db8:300::/64' },
        { family: 4, priority: 773, action: 'blackhole', iif: 'vxl3-8472', protocol: 77 },
      ];
      for (const r of both) {
        const decoded = decodeRule(payloadOf(encodeRule(C.RTM_NEWRULE, 0, r)));
        assert.deepEqual(decoded, r);
      }
      const message = encodeRule(C.RTM_DELRULE, 0, both[3]);
      const event = decodeEvent({ type: C.RTM_DELRULE, flags: 0, seq: 0, portId: 0, payload: payloadOf(message) });
      assert.deepEqual(event && event.kind === 'rule' && [event.action, event.rule.priority], ['del', 773]);
      assert.throws(() => decodeRule(Buffer.alloc(8)), /shorter than fib_rule_hdr/);
      assert.throws(() => decodeRule(Buffer.alloc(12)), /address family 0/);
    });
  });
});
