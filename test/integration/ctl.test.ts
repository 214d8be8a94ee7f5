import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { ServerHandle, startServer } from '../../lab/server-process';
import { operatorDir } from '../../lab/credentials';
import { ctl } from '../helpers/ctl-binary';

describe('ctl (real binary against a real server)', function () {
  let server: ServerHandle;
  const at = () => server.ctlArgs;
  const credentials = () => ['--credentials', operatorDir(server.dataDir)];

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.proc.stop();
  });

  it('creates, lists, shows and deletes a VNI with tables and exit 0', () => {
    const created = ctl([...at(), 'vni', 'create', '42', '--name', 'blue', '--mtu', '1400']);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /VNI 42 \(blue\) created/);
    const list = ctl([...at(), 'vni', 'list']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^VNI\s+NAME\s+MODE\s+DATAPATH\s+MTU/);
    assert.match(list.stdout, /\n42\s+blue\s+l2\s+-\s+1400\s+4789\s+head-end/);
    const show = ctl(['vni', 'show', '42', ...at()]);
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /Name:\s+blue/);
    const del = ctl([...at(), 'vni', 'delete', '42']);
    assert.equal(del.status, 0, del.stderr);
    assert.equal(ctl([...at(), 'vni', 'show', '42']).status, 1);
  });

  it('prints JSON for scripts with -o json', () => {
    assert.equal(ctl([...at(), 'vni', 'create', '43', '--group', '239.1.1.43']).status, 0);
    const shown = ctl([...at(), '-o', 'json', 'vni', 'show', '43']);
    assert.equal(shown.status, 0, shown.stderr);
    const v = JSON.parse(shown.stdout);
    assert.equal(v.id, 43);
    assert.equal(v.multicastGroup, '239.1.1.43');
    assert.equal(v.flooding, 'multicast');
    assert.equal(v.mtu, 'auto');
    assert.match(v.createTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(v.nodes, []);
    const listed = JSON.parse(ctl([...at(), 'vni', 'list', '--output', 'json']).stdout);
    assert.ok(listed.some((x: { id: number }) => x.id === 43));
  });

  it('prints the same data as YAML with -o yaml', () => {
    const json = JSON.parse(ctl([...at(), '-o', 'json', 'vni', 'show', '43']).stdout);
    const yaml = ctl([...at(), '-o', 'yaml', 'vni', 'show', '43']);
    assert.equal(yaml.status, 0, yaml.stderr);
    assert.match(yaml.stdout, /^---\nid: 43\n/);
    assert.deepEqual(parse(yaml.stdout), json);
  });

  it('finds the server and the credential through VXGOSSIP_SERVER and VXGOSSIP_CREDENTIALS', () => {
    const r = ctl(['vni', 'list'], {
      VXGOSSIP_SERVER: server.address,
      VXGOSSIP_CREDENTIALS: operatorDir(server.dataDir),
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it('takes VXGOSSIP_SERVER as a list of replicas, and uses the first that answers its health check', () => {
    // Nothing listens on port 1 of loopback: refused at once.
    const r = ctl(['vni', 'list', '-o', 'name'], {
      VXGOSSIP_SERVER: `127.0.0.1:1,${server.address}`,
      VXGOSSIP_CREDENTIALS: operatorDir(server.dataDir),
    });
    assert.equal(r.status, 0, r.stderr);
  });

  const invalid: Array<[string, string[], RegExp]> = [
    ['VNI 0', ['vni', 'create', '0'], /vni: must be an integer from 1 to 16777215/],
    ['VNI 16777216', ['vni', 'create', '16777216'], /vni: must be an integer/],
    ['a VNI that is not a number', ['vni', 'create', 'abc'], /vni: must be an integer/],
    ['dstport 70000', ['vni', 'create', '50', '--dstport', '70000'], /dstport: must be an integer from 1 to 65535/],
    ['MTU 100', ['vni', 'create', '50', '--mtu', '100'], /mtu: must be an integer from 576 to 9216/],
    [
      'a unicast group',
      ['vni', 'create', '50', '--group', '10.0.0.1'],
      /flooding\.multicast_group: "10\.0\.0\.1" is not a multicast address/,
    ],
    ['a bad name', ['vni', 'create', '50', '--name', 'Bad_Name'], /name: "Bad_Name" must be/],
    ['a bad mode', ['vni', 'create', '50', '--mode', 'l4'], /mode: "l4" must be l2 or l3/],
    ['l3 without subnet', ['vni', 'create', '50', '--mode', 'l3'], /subnet: an l3 VNI needs a subnet/],
    ['a bad subnet', ['vni', 'create', '50', '--subnet', '10.0.0.0/40'], /subnet: prefix length 40 exceeds 32/],
    [
      'a bad datapath',
      ['vni', 'create', '50', '--mode', 'l3', '--subnet', '10.50.0.0/24', '--datapath', 'xdp'],
      /datapath: "xdp" must be lwt or bpf/,
    ],
    ['a datapath for l2', ['vni', 'create', '50', '--datapath', 'bpf'], /datapath: "bpf" applies to l3 VNIs only/],
    ['an unknown flag', ['vni', 'create', '50', '--colour', 'red'], /unknown flag --colour/],
    ['a missing VNI', ['vni', 'show'], /expected exactly one VNI/],
    ['an unknown command', ['vnis', 'list'], /unknown command "vnis"/],
    ['an unknown subcommand', ['vni', 'frobnicate'], /unknown subcommand "vni frobnicate"/],
    [
      'an unknown output format',
      ['vni', 'list', '-o', 'xml'],
      /-o xml: unknown output format; use one of table, wide, json, yaml, name/,
    ],
  ];
  for (const [what, args, message] of invalid) {
    it(`exits 2 with a message naming the problem for ${what}`, () => {
      const r = ctl([...at(), ...args]);
      assert.equal(r.status, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /--help/);
    });
  }

  it('creates an l3 VNI on the bpf datapath, shows it, moves it, and refuses two datapaths on one port', () => {
    const ok = (...args: string[]) => {
      const r = ctl([...at(), ...args]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const refused = (message: RegExp, ...args: string[]) => {
      const r = ctl([...at(), ...args]);
      assert.equal(r.status, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, message);
    };
    const datapathOf = (vni: string) => JSON.parse(ok('-o', 'json', 'vni', 'show', vni)).datapath;
    ok('vni', 'create', '70', '--mode', 'l3', '--subnet', '10.70.0.0/24', '--datapath', 'bpf');
    assert.match(ok('vni', 'list'), /\n70\s+vni-70\s+l3\s+bpf\s+auto\s+8472\s/);
    assert.match(ok('vni', 'show', '70'), /Datapath:\s+bpf/);
    assert.equal(datapathOf('70'), 'bpf');
    assert.ok(JSON.parse(ok('-o', 'json', 'vni', 'list')).some((v: any) => v.id === 70 && v.datapath === 'bpf'));
    const l3 = ['--mode', 'l3', '--subnet', '10.71.0.0/24'];
    refused(/datapath: UDP port 8472 is used by l3 VNI 70 on the bpf datapath/, 'vni', 'create', '71', ...l3);
    ok('vni', 'update', '70', '--datapath', 'lwt');
    assert.equal(datapathOf('70'), 'lwt');
    ok('vni', 'create', '71', ...l3);
    assert.equal(datapathOf('71'), 'lwt');
    refused(
      /datapath: UDP port 8472 is used by l3 VNI 71 on the lwt datapath/,
      'vni',
      'update',
      '70',
      '--datapath',
      'bpf',
    );
    ok('vni', 'create', '73');
    assert.equal(datapathOf('73'), null);
    refused(/datapath: VNI 73 is l2: a datapath applies to l3 VNIs only/, 'vni', 'update', '73', '--datapath', 'bpf');
    for (const vni of ['70', '71', '73']) ok('vni', 'delete', vni);
  });

  it('exits 1 saying what failed for a duplicate VNI and an unknown one', () => {
    assert.equal(ctl([...at(), 'vni', 'create', '60']).status, 0);
    const dup = ctl([...at(), 'vni', 'create', '60']);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /already exists: VNI 60 already exists/);
    const missing = ctl([...at(), 'vni', 'delete', '61']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /not found: VNI 61 does not exist/);
  });

  it('exits 1 naming the address when the server is unreachable', () => {
    const r = ctl([...credentials(), '--server', '127.0.0.1:1', '--timeout', '3000', 'vni', 'list']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /server unreachable at 127\.0\.0\.1:1/);
  });

  it('still reports a validation error (exit 2) when the server is down', () => {
    const r = ctl([...credentials(), '--server', '127.0.0.1:1', 'vni', 'create', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /vni: must be an integer/);
  });

  for (const args of [
    ['--help'],
    ['vni', '--help'],
    ['vni', 'create', '--help'],
    ['vni', 'list', '-h'],
    ['vni', 'show', '--help'],
    ['vni', 'delete', '--help'],
  ]) {
    it(`prints help and exits 0 for ctl ${args.join(' ')}`, () => {
      const r = ctl(args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^Usage: ctl/);
    });
  }
});
