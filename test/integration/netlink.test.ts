import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { LabHost, LabNetwork } from '../../lab/network';
import {
  NetlinkError,
  NetlinkEvent,
  NetlinkNotifications,
  RTPROT_VXGOSSIP,
  Rtnetlink,
  Rule,
} from '../../node-agent/netlink';
import { NetlinkSocket } from '../../node-agent/netlink/socket';
import { FdbOps } from '../../node-agent/netlink/fdb';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { eventually } from '../../lab/eventually';

// Every rtnetlink operation against the real kernel, checked with iproute2 as the independent reader.
describe('rtnetlink against the kernel, checked with iproute2 (namespaces)', function () {
  let lab: LabNetwork;
  let h1: LabHost;
  let h2: LabHost;
  let rt: Rtnetlink;

  const json = (host: LabHost, args: string[]) => JSON.parse(host.exec(args[0], ['-j', ...args.slice(1)]) || '[]');
  const linkInfo = (name: string) => h1.link(name)!;
  const ifindex = async (name: string) => (await rt.links.get(name))!.index;

  before(function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2' });
    lab = LabNetwork.create(['h1', 'h2']);
    [h1, h2] = lab.hosts as [LabHost, LabHost];
    h1.exec('ip', ['addr', 'add', '2001:db8::10/64', 'dev', 'eth0', 'nodad']);
    rt = Rtnetlink.open({ netns: `/run/netns/${h1.netns}` });
  });

  after(async () => {
    rt?.close();
    await lab?.destroy();
  });

  describe('links', () => {
    it('creates a vxlan device with every IPv4 option as `ip -d link` reads it', async () => {
      const eth0 = await ifindex('eth0');
      await rt.links.create({
        name: 'vx4',
        kind: 'vxlan',
        mtu: 1400,
        up: true,
        alias: 'vxgossip:test',
        vxlan: {
          id: 4242,
          group: '239.1.1.1',
          local: h1.ip,
          dev: eth0,
          ttl: 16,
          tos: 0x10,
          df: 'set',
          port: 8472,
          srcPortRange: { min: 40000, max: 50000 },
          learning: false,
          proxy: true,
          rsc: true,
          l2miss: true,
          l3miss: true,
          udpCsum: false,
          ageing: 120,
          maxAddress: 1000,
        },
      });
      const l = linkInfo('vx4');
      const d = l.linkinfo.info_data;
      assert.equal(l.mtu, 1400);
      assert.equal(l.ifalias, 'vxgossip:test');
      assert.ok(l.flags.includes('UP'));
      assert.equal(d.id, 4242);
      assert.equal(d.group, '239.1.1.1');
      assert.equal(d.local, h1.ip);
      assert.equal(d.link, 'eth0');
      assert.equal(d.ttl, 16);
      assert.equal(d.tos, '0x10');
      assert.equal(d.df, 'set');
      assert.equal(d.port, 8472);
      assert.deepEqual(d.port_range, { low: 40000, high: 50000 });
      assert.equal(d.learning, false);
      assert.equal(d.proxy, true);
      assert.equal(d.rsc, true);
      assert.equal(d.l2miss, true);
      assert.equal(d.l3miss, true);
      assert.equal(d.udp_csum, false);
      assert.equal(d.ageing, 120);
      assert.equal(d.limit, 1000);
      const back = (await rt.links.get('vx4'))!;
      assert.equal(back.vxlan?.group, '239.1.1.1');
      assert.equal(back.vxlan?.srcPortRange?.max, 50000);
    });

    it('creates IPv6, external (metadata) and GBP/GPE vxlan devices', async () => {
      await rt.links.create({
        name: 'vx6',
        kind: 'vxlan',
        vxlan: {
          id: 66,
          remote: '2001:db8::20',
          local: '2001:db8::10',
          port: 4789,
          flowLabel: 0x12345,
          udp6ZeroCsumTx: true,
          udp6ZeroCsumRx: true,
          ttlInherit: true,
        },
      });
      const d6 = linkInfo('vx6').linkinfo.info_data;
      assert.equal(d6.remote6, '2001:db8::20');
      assert.equal(d6.local6, '2001:db8::10');
      assert.equal(d6.udp_zero_csum6_tx, true);
      assert.equal(d6.udp_zero_csum6_rx, true);
      assert.equal(d6.ttl, undefined, 'iproute2 prints no ttl for inherit');
      assert.equal((await rt.links.get('vx6'))!.vxlan?.ttlInherit, true);
      assert.equal(d6.label, '0x12345');
      assert.equal((await rt.links.get('vx6'))!.vxlan?.flowLabel, 0x12345);
      await rt.links.create({
        name: 'vxext',
        kind: 'vxlan',
        vxlan: { external: true, port: 4790, gbp: true, learning: false },
      });
      const de = linkInfo('vxext').linkinfo.info_data;
      assert.equal(de.external, true);
      assert.equal(de.gbp, true);
      await rt.links.create({
        name: 'vxgpe',
        kind: 'vxlan',
        vxlan: { external: true, port: 4791, gpe: true, learning: false },
      });
      assert.equal(linkInfo('vxgpe').linkinfo.info_data.gpe, true);
      assert.equal((await rt.links.get('vxgpe'))!.vxlan?.gpe, true);
    });

    it('names the object and the errno when the kernel refuses (EEXIST, ENODEV, EINVAL)', async () => {
      await assert.rejects(
        rt.links.create({ name: 'vx4', kind: 'bridge' }),
        (e: NetlinkError) => e.code === 'EEXIST' && /create bridge link vx4: EEXIST/.test(e.message),
      );
      await assert.rejects(
        rt.links.delete({ index: 99999, name: 'ghost' }),
        (e: NetlinkError) => e.code === 'ENODEV' && /ghost/.test(e.message),
      );
      await assert.rejects(
        rt.links.create({ name: 'vxbad', kind: 'vxlan', mtu: 20, vxlan: { id: 1, port: 4789 } }),
        (e: NetlinkError) => e instanceof NetlinkError && e.code === 'EINVAL',
      );
      assert.equal(await rt.links.get('ghost'), undefined);
      // A kind this kernel has no driver for.
      await assert.rejects(
        rt.links.create({ name: 'odd0', kind: 'no-such-kind' as 'bridge' }),
        (e: NetlinkError) => e.code === 'EOPNOTSUPP',
      );
    });

    it('reports EPERM, naming the object, to a process without CAP_NET_ADMIN', () => {
      const script = [
        `const { Rtnetlink } = require(${JSON.stringify(require.resolve('../../node-agent/netlink'))});`,
        "process.setgid('nogroup'); process.setuid('nobody');",
        'const rt = Rtnetlink.open();',
        "rt.links.create({ name: 'nope0', kind: 'bridge' }).then(() => process.exit(3), (e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); rt.close(); });",
      ].join('\n');
      const out = JSON.parse(h1.exec(process.execPath, ['-e', script]));
      assert.equal(out.code, 'EPERM');
      assert.match(out.message, /create bridge link nope0: EPERM/);
      assert.equal(h1.link('nope0'), undefined);
    });

    it('changes MTU, MAC, name, up/down, master and alias in place; sets bridge port options', async () => {
      await rt.links.create({ name: 'br9', kind: 'bridge', up: true });
      const vx = (await rt.links.get('vx4'))!;
      const br = (await rt.links.get('br9'))!;
      await rt.links.change(vx, { mtu: 1300, mac: '02:00:00:00:09:09', master: br.index, up: false, alias: 'renamed' });
      await rt.links.setBridgePort(vx, { learning: false, neighSuppress: true });
      let l = linkInfo('vx4');
      assert.equal(l.ifindex, vx.index, 'same device');
      assert.equal(l.mtu, 1300);
      assert.equal(l.address, '02:00:00:00:09:09');
      assert.equal(l.master, 'br9');
      assert.ok(!l.flags.includes('UP'));
      assert.equal(l.ifalias, 'renamed');
      assert.equal(l.linkinfo.info_slave_data.neigh_suppress, true);
      assert.equal(l.linkinfo.info_slave_data.learning, false);
      assert.deepEqual((await rt.links.get(vx.index))!.bridgePort, { learning: false, neighSuppress: true });
      await rt.links.change(vx, { master: 0, name: 'vx4b' });
      l = linkInfo('vx4b');
      assert.equal(l.master, undefined);
      await rt.links.change({ ...vx, name: 'vx4b' }, { name: 'vx4' });
    });

    it('creates a veth pair straight into another namespace, and moves a link between namespaces', async () => {
      const fd = fs.openSync(`/run/netns/${h2.netns}`, 'r');
      try {
        await rt.links.create({ name: 've0', kind: 'veth', mtu: 1450, peer: { name: 've1', netnsFd: fd, mtu: 1450 } });
        assert.ok(h2.link('ve1'), 'peer in h2');
        const br = (await rt.links.get('br9'))!;
        await rt.links.create({ name: 've2', kind: 'veth', peer: { name: 've3' } });
        await rt.links.change((await rt.links.get('ve3'))!, { netnsFd: fd });
        assert.ok(h2.link('ve3'));
        assert.equal(h1.link('ve3'), undefined);
        assert.equal((await rt.links.get('ve0'))!.kind, 'veth');
        await rt.links.change((await rt.links.get('ve0'))!, { master: br.index, up: true });
      } finally {
        fs.closeSync(fd);
      }
    });

    it('dumps every link with the same indexes and names as ip link', async () => {
      const ours = (await rt.links.list()).map((l) => [l.index, l.name]).sort();
      const theirs = json(h1, ['ip', 'link', 'show'])
        .map((l: { ifindex: number; ifname: string }) => [l.ifindex, l.ifname])
        .sort();
      assert.deepEqual(ours, theirs);
    });
  });

  describe('FDB', () => {
    const fdbShow = (dev: string) => json(h1, ['bridge', 'fdb', 'show', 'dev', dev]) as Array<Record<string, any>>;

    it('adds, appends, replaces, gets and deletes vxlan entries with dst, vni, port and via', async () => {
      const vx = await ifindex('vx4');
      const eth0 = await ifindex('eth0');
      await rt.fdb.add({ ifindex: vx, mac: '00:00:00:00:00:00', dst: '198.18.0.11' }, 'append');
      await rt.fdb.add({ ifindex: vx, mac: '00:00:00:00:00:00', dst: '198.18.0.12' }, 'append');
      await rt.fdb.add({ ifindex: vx, mac: '02:00:00:00:00:aa', dst: '198.18.0.11', vni: 77, port: 4790, via: eth0 });
      await assert.rejects(
        rt.fdb.add({ ifindex: vx, mac: '02:00:00:00:00:aa', dst: '198.18.0.11' }),
        (e: NetlinkError) => e.code === 'EEXIST',
      );
      await rt.fdb.add({ ifindex: vx, mac: '02:00:00:00:00:aa', dst: '198.18.0.13' }, 'replace');
      const shown = fdbShow('vx4').filter((e) => e.dst);
      const floods = shown
        .filter((e) => e.mac === '00:00:00:00:00:00')
        .map((e) => e.dst)
        .sort();
      // The multicast group of vx4 is its default destination too.
      assert.deepEqual(floods, ['198.18.0.11', '198.18.0.12', '239.1.1.1']);
      const aa = shown.find((e) => e.mac === '02:00:00:00:00:aa')!;
      assert.equal(aa.dst, '198.18.0.13');
      const got = await rt.fdb.get({ ifindex: vx, mac: '02:00:00:00:00:aa', self: true });
      assert.equal(got?.dst, '198.18.0.13');
      const listed = (await rt.fdb.list(vx))
        .filter((e) => e.dst)
        .map((e) => `${e.mac} ${e.dst}`)
        .sort();
      assert.deepEqual(listed, shown.map((e) => `${e.mac} ${e.dst}`).sort());
      await rt.fdb.delete({ ifindex: vx, mac: '00:00:00:00:00:00', dst: '198.18.0.11' });
      assert.deepEqual(
        fdbShow('vx4')
          .filter((e) => e.mac === '00:00:00:00:00:00' && e.dst)
          .map((e) => e.dst)
          .sort(),
        ['198.18.0.12', '239.1.1.1'],
      );
      assert.equal(await rt.fdb.get({ ifindex: vx, mac: '02:00:00:00:00:bb', self: true }), undefined);
      await assert.rejects(
        rt.fdb.delete({ ifindex: vx, mac: '02:00:00:00:00:bb' }),
        (e: NetlinkError) => e.code === 'ENOENT',
      );
    });

    it('adds master entries on the bridge as extern_learn and sticky', async () => {
      const ve0 = await ifindex('ve0');
      await rt.fdb.add({ ifindex: ve0, mac: '02:00:00:00:00:cc', masterFlag: true, externLearn: true });
      // The bridge refuses sticky on permanent entries, as iproute2's `static` would send it.
      await rt.fdb.add({ ifindex: ve0, mac: '02:00:00:00:00:dd', masterFlag: true, sticky: true, state: 'static' });
      const shown = fdbShow('ve0');
      const cc = shown.find((e) => e.mac === '02:00:00:00:00:cc')!;
      assert.ok(cc.flags.includes('extern_learn'), JSON.stringify(cc));
      const dd = shown.find((e) => e.mac === '02:00:00:00:00:dd')!;
      assert.ok(dd.flags.includes('sticky'), JSON.stringify(dd));
      const ours = await rt.fdb.list(ve0);
      assert.equal(ours.find((e) => e.mac === '02:00:00:00:00:cc')?.externLearn, true);
    });

    it('bulk: 5,000 entries in one call, a bad one fails alone, every good one lands', async () => {
      // vx4 has maxaddress 1000; a fresh device has no limit.
      await rt.links.create({ name: 'vxbulk', kind: 'vxlan', vxlan: { id: 5000, port: 4789, learning: false } });
      const vx = await ifindex('vxbulk');
      const entries = Array.from({ length: 5000 }, (_, i) => ({
        ifindex: vx,
        mac: `02:01:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
        dst: `198.18.1.${1 + (i % 200)}`,
      }));
      entries[10] = { ...entries[10], mac: 'not-a-mac' };
      entries[20] = { ...entries[20], mac: entries[21].mac };
      const errors = await rt.fdb.addMany(entries);
      assert.match(String(errors[10]?.message), /not a MAC address/);
      assert.equal((errors[21] as NetlinkError)?.code, 'EEXIST', 'the duplicate fails with EEXIST');
      assert.equal(errors.filter((e) => e !== undefined).length, 2);
      const inKernel = fdbShow('vxbulk').filter((e) => e.mac.startsWith('02:01:')).length;
      assert.equal(inKernel, 4998);
      const deleted = await rt.fdb.deleteMany(entries.filter((_, i) => i !== 10 && i !== 21));
      assert.equal(deleted.filter((e) => e !== undefined).length, 0);
      assert.equal(fdbShow('vxbulk').filter((e) => e.mac.startsWith('02:01:')).length, 0);
    });
  });

  describe('neighbours and routes', () => {
    it('adds, replaces, dumps and deletes IPv4 and IPv6 neighbours, tagged with our protocol', async () => {
      const br = await ifindex('br9');
      await rt.neighbours.add({ ifindex: br, ip: '10.9.0.2', mac: '02:00:00:00:00:02', protocol: RTPROT_VXGOSSIP });
      await rt.neighbours.add(
        { ifindex: br, ip: '10.9.0.2', mac: '02:00:00:00:00:03', protocol: RTPROT_VXGOSSIP },
        'replace',
      );
      await rt.neighbours.add({ ifindex: br, ip: '2001:db8:9::2', mac: '02:00:00:00:00:04', state: 'noarp' });
      const v4 = json(h1, ['ip', 'neigh', 'show', 'dev', 'br9']).find((n: any) => n.dst === '10.9.0.2');
      assert.equal(v4.lladdr, '02:00:00:00:00:03');
      assert.ok(v4.state.includes('PERMANENT'));
      assert.equal(v4.protocol, String(RTPROT_VXGOSSIP));
      const v6 = json(h1, ['ip', '-6', 'neigh', 'show', 'nud', 'all', 'dev', 'br9']);
      assert.ok(
        v6.some((n: any) => n.dst === '2001:db8:9::2' && n.lladdr === '02:00:00:00:00:04'),
        JSON.stringify(v6),
      );
      const ours = (await rt.neighbours.list(4, br)).filter((n) => n.protocol === RTPROT_VXGOSSIP);
      assert.deepEqual(
        ours.map((n) => [n.ip, n.mac, n.protocol]),
        [['10.9.0.2', '02:00:00:00:00:03', RTPROT_VXGOSSIP]],
      );
      assert.equal((await rt.neighbours.list(6, br)).filter((n) => n.ip === '2001:db8:9::2').length, 1);
      await rt.neighbours.delete({ ifindex: br, ip: '10.9.0.2' });
      assert.equal(json(h1, ['ip', 'neigh', 'show', 'dev', 'br9']).filter((n: any) => n.dst === '10.9.0.2').length, 0);
    });

    it('adds lightweight-tunnel routes over an external vxlan device as `ip route` shows them', async () => {
      const vxext = await ifindex('vxext');
      await rt.links.change({ index: vxext, name: 'vxext', kind: 'vxlan' }, { up: true });
      await rt.routes.add({
        dst: '172.16.30.0/24',
        oif: vxext,
        protocol: RTPROT_VXGOSSIP,
        encap: { id: 42n, dst: '198.18.0.11', ttl: 64 },
      });
      // iproute2's JSON repeats "dst" (prefix, then tunnel endpoint); JSON.parse keeps the last.
      const text = h1.exec('ip', ['-d', 'route', 'show', 'dev', 'vxext']);
      assert.match(text, /172\.16\.30\.0\/24 +encap ip id 42 src 0\.0\.0\.0 dst 198\.18\.0\.11 ttl 64/);
      const shown = json(h1, ['ip', '-d', 'route', 'show', 'dev', 'vxext']).find(
        (r: any) => r.encap === 'ip' && r.id === 42,
      );
      assert.ok(shown, 'route present');
      assert.equal(shown.protocol, String(RTPROT_VXGOSSIP));
      await rt.routes.add(
        { dst: '172.16.30.0/24', oif: vxext, protocol: RTPROT_VXGOSSIP, encap: { id: 43n, dst: '198.18.0.12' } },
        'replace',
      );
      const mine = (await rt.routes.list(4)).find((r) => r.dst === '172.16.30.0/24')!;
      assert.deepEqual([mine.encap?.id, mine.encap?.dst, mine.protocol], [43n, '198.18.0.12', RTPROT_VXGOSSIP]);
      await rt.routes.add({ dst: '2001:db8:30::/64', oif: vxext, encap: { id: 44n, dst: '2001:db8::20' } });
      const v6 = (await rt.routes.list(6)).find((r) => r.dst === '2001:db8:30::/64');
      assert.equal(v6?.encap?.dst, '2001:db8::20');
      await rt.routes.delete({ dst: '172.16.30.0/24', oif: vxext });
      await assert.rejects(
        rt.routes.delete({ dst: '172.16.30.0/24', oif: vxext }),
        (e: NetlinkError) => e.code === 'ESRCH',
      );
    });
  });

  describe('rules and route types', () => {
    it('adds, dumps and deletes policy rules of both families as `ip rule` reads them, and notifies', async () => {
      const events: NetlinkEvent[] = [];
      const watcher = new NetlinkNotifications(
        ['rule'],
        (e) => events.push(e),
        (e) => assert.fail(e),
        {
          netns: `/run/netns/${h1.netns}`,
        },
      );
      const rules: Rule[] = [
        { family: 4, priority: 771, action: 'lookup', table: 1_000_000_100, iif: 'vxq', tunId: 100n, protocol: 77 },
        {
          family: 4,
          priority: 772,
          action: 'lookup',
          table: 1_000_000_100,
          iif: 'lo',
          dst: '10.100.0.0/24',
          protocol: 77,
        },
        {
          family: 6,
          priority: 772,
          action: 'lookup',
          table: 1_000_000_300,
          iif: 'lo',
          dst: '2001:db8:300::/64',
          protocol: 77,
        },
        { family: 6, priority: 773, action: 'blackhole', iif: 'vxq', protocol: 77 },
      ];
      try {
        for (const r of rules) await rt.rules.add(r);
        await assert.rejects(rt.rules.add(rules[0]), (e: NetlinkError) => e.code === 'EEXIST');
        const shown = (family: string) => h1.exec('ip', [family, 'rule', 'show']).replace(/\s+/g, ' ');
        assert.match(shown('-4'), /771: from all iif vxq \[detached\] tun_id 100 lookup 1000000100 proto 77/);
        assert.match(shown('-4'), /772: from all to 10\.100\.0\.0\/24 iif lo lookup 1000000100 proto 77/);
        assert.match(shown('-6'), /772: from all to 2001:db8:300::\/64 iif lo lookup 1000000300 proto 77/);
        assert.match(shown('-6'), /773: from all iif vxq \[detached\] blackhole proto 77/);
        const dumped = [...(await rt.rules.list(4)), ...(await rt.rules.list(6))].filter((r) => r.protocol === 77);
        assert.deepEqual(dumped, rules);
        for (const r of rules) await rt.rules.delete(r);
        assert.doesNotMatch(shown('-4') + shown('-6'), /proto 77/);
        await eventually(() => assert.equal(events.filter((e) => e.kind === 'rule' && e.action === 'del').length, 4));
      } finally {
        watcher.close();
      }
    });

    it('adds local and blackhole routes in tables past 255, and deletes them', async () => {
      const t = 1_000_000_100;
      await rt.routes.add({ dst: '10.100.0.1/32', table: t, type: 'local', oif: 1, protocol: 77 });
      await rt.routes.add({ dst: '0.0.0.0/0', table: t, type: 'blackhole', protocol: 77 });
      await rt.routes.add({ dst: '::/0', table: t, type: 'blackhole', protocol: 77 });
      const shown = h1.exec('ip', ['route', 'show', 'table', String(t)]);
      assert.match(shown, /^blackhole default proto 77/m);
      assert.match(shown, /^local 10\.100\.0\.1 dev lo proto 77 scope host/m);
      assert.match(h1.exec('ip', ['-6', 'route', 'show', 'table', String(t)]), /^blackhole default dev lo proto 77/m);
      const mine = [...(await rt.routes.list(4)), ...(await rt.routes.list(6))].filter((r) => r.table === t);
      assert.deepEqual(mine.map((r) => `${r.type} ${r.dst}`).sort(), [
        'blackhole 0.0.0.0/0',
        'blackhole ::/0',
        'local 10.100.0.1/32',
      ]);
      for (const r of mine) await rt.routes.delete({ dst: r.dst, table: t, type: r.type, protocol: 77 });
      assert.equal(h1.exec('ip', ['route', 'show', 'table', String(t)]).trim(), '');
    });
  });

  describe('notifications', () => {
    it('delivers typed link, FDB and route events', async () => {
      const events: NetlinkEvent[] = [];
      const watcher = new NetlinkNotifications(
        ['link', 'neigh', 'route'],
        (e) => events.push(e),
        (e) => assert.fail(e),
        { netns: `/run/netns/${h1.netns}` },
      );
      try {
        await rt.links.create({ name: 'brn', kind: 'bridge' });
        const vx = await ifindex('vx4');
        await rt.fdb.add({ ifindex: vx, mac: '02:00:00:00:0e:01', dst: '198.18.0.14' });
        await rt.fdb.delete({ ifindex: vx, mac: '02:00:00:00:0e:01', dst: '198.18.0.14' });
        const vxext = await ifindex('vxext');
        await rt.routes.add({ dst: '172.16.31.0/24', oif: vxext, encap: { id: 7n, dst: '198.18.0.15' } });
        await eventually(() => {
          assert.ok(
            events.some(
              (e) =>
                e.kind === 'route' &&
                e.action === 'new' &&
                e.route.dst === '172.16.31.0/24' &&
                e.route.encap?.id === 7n,
            ),
          );
          assert.ok(events.some((e) => e.kind === 'link' && e.action === 'new' && e.link.name === 'brn'));
          assert.ok(
            events.some(
              (e) =>
                e.kind === 'fdb' &&
                e.action === 'new' &&
                e.entry.mac === '02:00:00:00:0e:01' &&
                e.entry.dst === '198.18.0.14',
            ),
          );
          assert.ok(events.some((e) => e.kind === 'fdb' && e.action === 'del' && e.entry.mac === '02:00:00:00:0e:01'));
        }, 5000);
      } finally {
        watcher.close();
      }
    });

    it('turns a receive-buffer overflow into a resync event, never a crash', async () => {
      const events: NetlinkEvent[] = [];
      const watcher = new NetlinkNotifications(
        ['neigh'],
        (e) => events.push(e),
        () => undefined,
        { netns: `/run/netns/${h1.netns}`, receiveBuffer: 4096 },
      );
      const floodSocket = new NetlinkSocket({ netns: `/run/netns/${h1.netns}` });
      try {
        // One bulk add produces notifications faster than a tiny buffer can hold them.
        const flood = new FdbOps(floodSocket);
        const vx = await ifindex('vxbulk');
        const entries = Array.from({ length: 3000 }, (_, i) => ({
          ifindex: vx,
          mac: `02:02:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
          dst: '198.18.2.1',
        }));
        assert.equal((await flood.addMany(entries)).filter((e) => e).length, 0);
        await eventually(
          () =>
            assert.ok(
              events.some((e) => e.kind === 'resync'),
              'a resync event',
            ),
          5000,
        );
        await flood.deleteMany(entries);
      } finally {
        floodSocket.close();
        watcher.close();
      }
    });
  });
});
