import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import {
  LoaderSpec,
  TUNNEL_DEVICE,
  Workload,
  WorkloadSpec,
  addTunnelDevice,
  addWorkload,
  ipv6Vtep,
  loaderSpec,
} from '../../lab/bpf-topology';
import { bpffsDirFor, releaseBpffsDir } from '../../lab/bpffs-mount';
import { eventually } from '../../lab/eventually';
import { LabNetwork } from '../../lab/network';
import { BpfDatapath, BpfError, attachedProgram, detachProgram, removePins, syncMap } from '../../node-agent/bpf';
import { requirePrograms, requireRoot } from '../helpers/require-root';

// The BPF datapath against the real kernel: two hosts (namespaces) on an underlay, each with an
// external vxlan device and workloads in VNIs 100 and 200. A separate process loads, attaches and fills
// the maps, then exits; everything after that runs on what it pinned and attached.
describe('BPF datapath (namespaces, real kernel)', function () {
  this.timeout(180_000);
  let lab: LabNetwork | undefined;
  let bpffs: string | undefined;
  let workloads: Workload[] = [];
  const specs: Record<string, LoaderSpec> = {};
  const opened: BpfDatapath[] = [];
  const loaded: Record<string, any> = {};

  const WORKLOADS: WorkloadSpec[] = [
    { name: 'a100', host: 'a', vni: 100, ipv4: '198.19.100.1', ipv6: '2001:db8:100::1' },
    { name: 'a100b', host: 'a', vni: 100, ipv4: '198.19.100.3', ipv6: '2001:db8:100::3' },
    { name: 'a200', host: 'a', vni: 200, ipv4: '198.19.200.1', ipv6: '2001:db8:200::1' },
    { name: 'b100', host: 'b', vni: 100, ipv4: '198.19.100.2', ipv6: '2001:db8:100::2' },
    { name: 'b200', host: 'b', vni: 200, ipv4: '198.19.200.2', ipv6: '2001:db8:200::2' },
  ];
  const workload = (name: string) => workloads.find((w) => w.name === name)!;
  const pinDir = (host: string) => path.join(bpffs!, `vxb-${host}`);
  const open = (host: string, objectFile?: string) => {
    const d = BpfDatapath.open({ bpffs: bpffs!, pinDir: pinDir(host), objectFile });
    opened.push(d);
    return d;
  };

  // 0 when every echo came back; the exit status of ping otherwise (1: no reply).
  const ping = (from: string, to: string, count = 1) =>
    lab!.execIn(workload(from).netns, 'ping', ['-c', String(count), '-i', '0.2', '-W', '1', to]).status;
  const reaches = (from: string, to: string) => assert.equal(ping(from, to), 0, `${from} → ${to} should answer`);
  const blocked = (from: string, to: string) => assert.notEqual(ping(from, to), 0, `${from} → ${to} must not answer`);

  // Runs lab/bpf-loader-main in a process of its own; it exits when done.
  const runLoader = (spec: LoaderSpec) =>
    JSON.parse(
      execFileSync(process.execPath, [path.join(repoRoot, 'dist', 'lab', 'bpf-loader-main.js')], {
        input: JSON.stringify(spec),
        encoding: 'utf8',
        timeout: 60_000,
      }),
    );

  // ICMP echo requests that reached the workload's stack (the host's own packets to its veth, router
  // solicitations and the like, do not count).
  const echoesReceived = (w: Workload): number => {
    const snmp = lab!.execIn(w.netns, 'cat', ['/proc/net/snmp']).stdout.split('\n');
    const [names, values] = snmp.filter((l) => l.startsWith('Icmp:')).map((l) => l.split(/\s+/));
    return Number(values[names.indexOf('InEchos')]);
  };

  // The datapath built with a -D knob, into a file of its own.
  const buildVariant = (define: string) => {
    const out = path.join(bpffs!, '..', `vxb-variant-${process.pid}.o`);
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-bpf.js'), '--out', out, `-D${define}`]);
    return out;
  };

  const bpftool = (args: string[]) => execFileSync('bpftool', args, { encoding: 'utf8' });

  before(function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', ping: 'iputils-ping', bpftool: 'bpftool', clang: 'clang' });
    const prefix = process.env.VXGOSSIP_LAB_PREFIX || 'vxb';
    lab = LabNetwork.create(['a', 'b'], { prefix });
    // A BPF filesystem of our own (the datapath mounts it), unmounted at the end.
    bpffs = bpffsDirFor(prefix);
    for (const host of lab.hosts) addTunnelDevice(host);
    workloads = WORKLOADS.map((w, i) => addWorkload(lab!, w, i + 1));
    for (const host of ['a', 'b']) {
      specs[host] = loaderSpec(lab, host, workloads, { bpffs, pinDir: pinDir(host) });
      loaded[host] = runLoader(specs[host]);
    }
  });

  after(async () => {
    for (const d of opened) d.close();
    // The namespaces take the interfaces, and with them the attachments; then the pins and the mount.
    await lab?.destroy();
    if (bpffs) {
      for (const host of ['a', 'b']) if (fs.existsSync(pinDir(host))) removePins(pinDir(host));
      releaseBpffsDir(bpffs);
    }
  });

  it('the loader mounted the BPF filesystem, attached every program and exited', () => {
    assert.equal(loaded.a.mountedBpffs, true);
    assert.equal(loaded.b.mountedBpffs, false);
    for (const host of ['a', 'b']) {
      assert.deepEqual(
        loaded[host].attached.map((a: any) => a.outcome),
        specs[host].attach.map(() => 'attached'),
      );
      const pins = fs.readdirSync(pinDir(host)).sort();
      assert.deepEqual(pins, ['from_tunnel', 'from_workload', 'local_eps', 'remote_eps', 'workload_ifs']);
    }
    const netns = `/run/netns/${lab!.host('a').netns}`;
    const program = (name: string) => loaded.a.programs.find((p: any) => p.name === name);
    const onVeth = attachedProgram({ interface: workload('a100').veth, netns });
    assert.deepEqual(onVeth && [onVeth.programId, onVeth.tag], [
      program('from_workload').id,
      program('from_workload').tag,
    ]);
    const onTunnel = attachedProgram({ interface: TUNNEL_DEVICE, netns });
    assert.deepEqual(onTunnel && [onTunnel.programId, onTunnel.tag], [
      program('from_tunnel').id,
      program('from_tunnel').tag,
    ]);
  });

  it('forwards IPv4 within a VNI across hosts and on one host, after the loader has exited', () => {
    reaches('a100', '198.19.100.2');
    reaches('b100', '198.19.100.1');
    reaches('a200', '198.19.200.2');
    reaches('a100', '198.19.100.3');
    reaches('a100b', '198.19.100.2');
  });

  it('forwards IPv6 within a VNI across hosts (IPv6 underlay) and on one host', () => {
    reaches('a100', '2001:db8:100::2');
    reaches('b200', '2001:db8:200::1');
    reaches('a100b', '2001:db8:100::1');
  });

  it('carries TCP streams intact across hosts, IPv4 and IPv6 (segmentation and checksums through the tunnel)', async () => {
    // A sink in b100 answers each connection with the byte count and SHA-256 of what it received.
    const sink = `require('net').createServer((s) => {
      const h = require('crypto').createHash('sha256'); let n = 0;
      s.on('data', (d) => { n += d.length; h.update(d); });
      s.on('end', () => s.end(n + ' ' + h.digest('hex')));
    }).listen(7000, '::', () => console.log('listening'));`;
    const server = lab!.spawnIn(workload('b100').netns, 'tcp-sink', process.execPath, ['-e', sink]);
    await eventually(() => assert.match(server.logs(), /listening/));
    for (const to of ['198.19.100.2', '2001:db8:100::2']) {
      const source = `const data = require('crypto').randomBytes(4 << 20);
        const s = require('net').connect(7000, '${to}', () => s.end(data)); let reply = '';
        s.on('data', (d) => (reply += d)); s.on('end', () => console.log(reply + ' ' +
          data.length + ' ' + require('crypto').createHash('sha256').update(data).digest('hex')));`;
      const r = lab!.execIn(workload('a100').netns, process.execPath, ['-e', source]);
      assert.equal(r.status, 0, r.stderr);
      const [receivedBytes, receivedHash, sentBytes, sentHash] = r.stdout.trim().split(' ');
      assert.deepEqual([receivedBytes, receivedHash], [sentBytes, sentHash], `to ${to}`);
    }
  });

  it('IPv6 endpoints travel over the IPv6 underlay: without its address there they are cut off, IPv4 is not', () => {
    const b = lab!.host('b');
    b.exec('ip', ['-6', 'addr', 'del', `${ipv6Vtep(b)}/64`, 'dev', 'eth0']);
    try {
      blocked('a100', '2001:db8:100::2');
      reaches('a100', '198.19.100.2');
    } finally {
      b.exec('ip', ['-6', 'addr', 'add', `${ipv6Vtep(b)}/64`, 'dev', 'eth0', 'nodad']);
    }
    reaches('a100', '2001:db8:100::2');
  });

  it('never delivers across VNIs, even when a map entry points the wrong way', () => {
    const a = open('a');
    const b = open('b');
    const a100 = workload('a100');
    const a200 = workload('a200');
    // On a: a VNI 100 address whose local entry names a200's veth (VNI 200); a200 holds that address.
    lab!.execIn(a200.netns, 'ip', ['addr', 'add', '198.19.100.55/24', 'dev', 'eth0']);
    a.localEndpoints.set({ vni: 100, address: '198.19.100.55' }, { ifindex: a200.ifindex, mac: a200.mac });
    // On b: a100's address as a VNI 200 remote endpoint, so b200's packets for it arrive in VNI 200.
    const [sample] = specs.b.remote;
    b.remoteEndpoints.set({ vni: 200, address: a100.ipv4 }, sample.value);
    try {
      const before = [echoesReceived(a200), echoesReceived(a100)];
      blocked('a100', '198.19.100.55');
      blocked('b200', a100.ipv4);
      assert.deepEqual([echoesReceived(a200), echoesReceived(a100)], before);
    } finally {
      a.localEndpoints.delete({ vni: 100, address: '198.19.100.55' });
      b.remoteEndpoints.delete({ vni: 200, address: a100.ipv4 });
    }
  });

  it('drops traffic between VNIs, to unknown addresses and from addresses not the endpoint’s own', () => {
    blocked('a100', '198.19.200.2');
    blocked('a100', '198.19.200.1');
    blocked('b200', '198.19.100.1');
    blocked('a100', '2001:db8:200::2');
    blocked('a200', '2001:db8:100::3');
    blocked('a100', '198.19.100.99');
    // A second address the agent does not know of: the workload may not send from it (nothing
    // arrives, so the failed ping is not merely a reply that found no way back).
    const b100 = workload('b100');
    const before = echoesReceived(b100);
    lab!.execIn(workload('a100').netns, 'ip', ['addr', 'add', '198.19.100.77/24', 'dev', 'eth0']);
    const spoofed = ['-c', '1', '-W', '1', '-I', '198.19.100.77', b100.ipv4];
    assert.notEqual(lab!.execIn(workload('a100').netns, 'ping', spoofed).status, 0);
    assert.equal(echoesReceived(b100), before);
  });

  it('answers the workload’s ARP and neighbour solicitations for its gateway with the veth’s MAC', () => {
    const a100 = workload('a100');
    const neighbours = JSON.parse(lab!.execIn(a100.netns, 'ip', ['-j', 'neigh', 'show', 'dev', 'eth0']).stdout);
    const gateway4 = neighbours.find((n: any) => n.dst === '198.19.100.254');
    const gateway6 = neighbours.find((n: any) => n.dst === 'fe80::1');
    assert.equal(gateway4?.lladdr, a100.vethMac);
    assert.equal(gateway6?.lladdr, a100.vethMac);
  });

  it('a new process reuses the pinned maps and programs; attaching again leaves them alone', () => {
    const d = open('a');
    assert.deepEqual(
      d.maps.map((m) => [m.name, m.id, m.replaced]),
      loaded.a.maps.map((m: any) => [m.name, m.id, false]),
    );
    assert.deepEqual(
      d.programs.map((p) => [p.name, p.id, p.reused]),
      loaded.a.programs.map((p: any) => [p.name, p.id, true]),
    );
    for (const a of specs.a.attach)
      assert.equal(d.attach(a.point, { interface: a.interface, netns: a.netns }).outcome, 'unchanged');
    const local = d.localEndpoints.dump();
    assert.equal(local.length, specs.a.local.length);
    assert.deepEqual(
      local.find((e) => e.key.address === '2001:db8:100::1'),
      specs.a.local.find((e) => e.key.address === '2001:db8:100::1'),
    );
    assert.equal(syncMap(d.remoteEndpoints, specs.a.remote).written, 0);
    reaches('a100', '198.19.100.2');
  });

  it('an entry deleted by hand is missing from the dump, and a sync writes back only it', () => {
    const d = open('a');
    const gone = specs.a.remote.find((e) => e.key.address === '198.19.100.2')!;
    const key = d.remoteEndpoints.codec.encodeKey(gone.key);
    bpftool([
      'map',
      'delete',
      'pinned',
      path.join(pinDir('a'), 'remote_eps'),
      'key',
      'hex',
      ...key.toString('hex').match(/../g)!,
    ]);
    const dumped = d.remoteEndpoints.dump();
    assert.equal(dumped.length, specs.a.remote.length - 1);
    assert.ok(!dumped.some((e) => e.key.vni === 100 && e.key.address === '198.19.100.2'));
    blocked('a100', '198.19.100.2');

    const result = syncMap(d.remoteEndpoints, specs.a.remote);
    assert.deepEqual({ written: result.written, deleted: result.deleted }, { written: 1, deleted: 0 });
    reaches('a100', '198.19.100.2');
  });

  it('a sync removes entries nobody wants, even ones that do not decode', () => {
    const d = open('b');
    const junkKey = 'ff'.repeat(24);
    bpftool([
      'map',
      'update',
      'pinned',
      path.join(pinDir('b'), 'remote_eps'),
      'key',
      'hex',
      ...junkKey.match(/../g)!,
      'value',
      'hex',
      ...'00'.repeat(28).match(/../g)!,
    ]);
    assert.throws(() => d.remoteEndpoints.dump(), /address family 255/);
    const result = syncMap(d.remoteEndpoints, specs.b.remote);
    assert.deepEqual({ written: result.written, deleted: result.deleted }, { written: 0, deleted: 1 });
    assert.equal(d.remoteEndpoints.dump().length, specs.b.remote.length);
  });

  it('a new build replaces the attached programs in one step: a ping running through it loses nothing', async () => {
    const variant = buildVariant('TUNNEL_TTL=33');
    try {
      const a100 = workload('a100');
      const pinger = lab!.spawnIn(a100.netns, 'ping', 'ping', ['-c', '100', '-i', '0.02', '-W', '1', '198.19.100.2']);
      await new Promise((r) => setTimeout(r, 500));
      const d = open('a', variant);
      // TUNNEL_TTL is only in from_workload: from_tunnel is the same program, kept where it is.
      assert.deepEqual(
        d.programs.map((p) => [p.name, p.reused]),
        [
          ['from_workload', false],
          ['from_tunnel', true],
        ],
      );
      assert.ok(d.maps.every((m, i) => m.id === loaded.a.maps[i].id && !m.replaced));
      for (const a of specs.a.attach)
        assert.equal(
          d.attach(a.point, { interface: a.interface, netns: a.netns }).outcome,
          a.point === 'workload' ? 'replaced' : 'unchanged',
        );
      const onVeth = attachedProgram({ interface: a100.veth, netns: specs.a.attach[0].netns });
      assert.equal(onVeth?.programId, d.program('workload').id);
      assert.notEqual(onVeth?.tag, loaded.a.programs.find((p: any) => p.name === 'from_workload').tag);
      assert.equal(await pinger.exited, 0, pinger.logs());
      assert.match(pinger.logs(), / 0% packet loss/);

      // And back: the build's own object replaces the variant again.
      const back = open('a');
      assert.equal(
        back.attach('workload', { interface: a100.veth, netns: specs.a.attach[0].netns }).outcome,
        'replaced',
      );
      reaches('a100', '198.19.100.2');
    } finally {
      fs.rmSync(variant, { force: true });
    }
  });

  it('a new build whose map no longer fits the pinned one replaces that map; the old one forwards until then', () => {
    const variant = buildVariant('REMOTE_ENDPOINTS_MAX=1024');
    try {
      const d = open('b', variant);
      const remote = d.maps.find((m) => m.name === 'remote_eps')!;
      const before = loaded.b.maps.find((m: any) => m.name === 'remote_eps');
      assert.deepEqual([remote.replaced, remote.maxEntries], [true, 1024]);
      assert.notEqual(remote.id, before.id);
      assert.equal(d.remoteEndpoints.dump().length, 0);
      // Still attached: the previous program, with the previous map.
      reaches('b100', '198.19.100.1');
      // What an agent does: fill the new map, then attach.
      assert.equal(syncMap(d.remoteEndpoints, specs.b.remote).written, specs.b.remote.length);
      for (const a of specs.b.attach) d.attach(a.point, { interface: a.interface, netns: a.netns });
      reaches('b100', '198.19.100.1');
      reaches('b200', '2001:db8:200::1');

      const back = open('b');
      assert.equal(back.maps.find((m) => m.name === 'remote_eps')!.replaced, true);
      syncMap(back.remoteEndpoints, specs.b.remote);
      for (const a of specs.b.attach) back.attach(a.point, { interface: a.interface, netns: a.netns });
      reaches('b100', '198.19.100.1');
    } finally {
      fs.rmSync(variant, { force: true });
    }
  });

  it('detaching takes the program off the interface only', () => {
    const b = lab!.host('b');
    const ref = { interface: workload('b200').veth, netns: `/run/netns/${b.netns}` };
    assert.equal(detachProgram(ref), true);
    assert.equal(attachedProgram(ref), undefined);
    assert.equal(detachProgram(ref), false);
    blocked('b200', '198.19.200.1');
    const again = open('b').attach('workload', ref);
    assert.equal(again.outcome, 'attached');
    reaches('b200', '198.19.200.1');
  });

  it('says what failed and what to do', () => {
    assert.throws(
      () => BpfDatapath.open({ bpffs: bpffs!, pinDir: pinDir('a'), objectFile: '/nonexistent/datapath.bpf.o' }),
      (err: BpfError) => err.code === 'ENOENT' && /is missing: run `npm run build`/.test(err.message),
    );
    assert.throws(
      () => BpfDatapath.open({ bpffs: bpffs!, pinDir: '/tmp/elsewhere' }),
      (err: BpfError) => /must lie inside the BPF filesystem/.test(err.message),
    );
    const d = open('a');
    assert.throws(
      () => d.attach('workload', { interface: 'nosuchif0', netns: `/run/netns/${lab!.host('a').netns}` }),
      (err: BpfError) => err.code === 'ENODEV' && /nosuchif0.*no interface nosuchif0.*does not exist/.test(err.message),
    );
    assert.throws(
      () => d.attach('workload', { interface: 'an-interface-name-too-long' }),
      /an-interface-name-too-long: .*too long/,
    );
    assert.throws(
      () => d.localEndpoints.set({ vni: 100, address: 'not-an-ip' }, { ifindex: 1, mac: '02:00:00:00:00:01' }),
      /not an IPv4 or IPv6 address/,
    );
  });
});
