import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { CtlTestServers, ctlAsync as ctl } from '../../helpers/ctl-server';
import { clusterServices } from '../../helpers/ctl-fixtures';

// Every command that prints data, with what it may exit with besides 0: fdb diff exits 1 when a
// host differs, status and keys 3 when degraded.
const printing: Array<[string[], number[]]> = [
  [['vni', 'list'], []],
  [['vni', 'show', '42'], []],
  [['vni', 'create', '7', '--mtu', '1450'], []],
  [['vni', 'delete', '7'], []],
  [['node', 'list'], []],
  [['node', 'revoke', 'h2'], []],
  [['endpoint', 'list'], []],
  [['fdb', 'show'], []],
  [['fdb', 'show', '--on', 'h1'], []],
  [['fdb', 'diff'], [1]],
  [['fdb', 'dup', 'list'], []],
  [['fdb', 'dup', 'clear', '--vni', '42', '--mac', '02:00:00:00:00:01'], []],
  [['ipam', 'blocks'], []],
  [['status'], [3]],
  [['keys', 'list'], []],
  [['token', 'create'], []],
  [['trace', '--vni', '42', '--mac', '02:00:00:00:00:01'], []],
  [['version'], []],
];

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
// Maps whose keys are data (states, keys, node names), not field names.
const MAPS = new Set(['members', 'keys', 'primaryKeys', 'errors', 'unanswered']);

// What the one schema forbids, anywhere in a document: protobuf enum names, numbers as strings,
// empty strings standing for "unset", times as milliseconds, keys that are not camelCase.
function schemaProblems(value: unknown, at = '$'): string[] {
  if (typeof value === 'string') {
    if (/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(value)) return [`${at}: enum name ${value}`];
    if (/^-?\d+$/.test(value)) return [`${at}: number as a string "${value}"`];
    if (value === '') return [`${at}: empty string`];
    return [];
  }
  if (typeof value === 'number') return value >= 1e11 ? [`${at}: a time in milliseconds? ${value}`] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => schemaProblems(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = `${at}.${k}`;
    const own: string[] = [];
    if (!MAPS.has(at.split('.').pop() ?? '') && !/^[a-z][a-zA-Z0-9]*$/.test(k)) own.push(`${path}: not camelCase`);
    if (/Ms$/.test(k)) own.push(`${path}: a time in milliseconds`);
    if (/(Time|Since|lastSeen)$/.test(k) && v !== null && !RFC3339.test(String(v))) own.push(`${path}: not RFC 3339`);
    return [...own, ...schemaProblems(v, path)];
  });
}

describe('ctl output formats', () => {
  const servers = new CtlTestServers();
  let at: string[] = [];
  const run = async (args: string[], exits: number[] = []) => {
    const r = await ctl([...at, ...args]);
    assert.ok([0, ...exits].includes(r.status), `ctl ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    await servers.start();
    at = await servers.serve(clusterServices());
  });
  after(() => servers.stop());

  for (const [args, exits] of printing) {
    it(`ctl ${args.join(' ')}: -o json follows the schema and -o yaml is the same data`, async () => {
      const json = JSON.parse(await run(['-o', 'json', ...args], exits)) as unknown;
      assert.deepEqual(schemaProblems(json), []);
      assert.deepEqual(parse(await run(['-o', 'yaml', ...args], exits)), json);
    });
  }

  for (const what of ['fdb', 'nodes'])
    it(`ctl watch ${what}: -o json prints a document a line, in the schema`, async () => {
      const lines = (await run(['-o', 'json', 'watch', what])).trimEnd().split('\n');
      const events = lines.map((l) => JSON.parse(l) as unknown);
      assert.deepEqual(schemaProblems(events), []);
      assert.match(lines[lines.length - 1], /"type":"(snapshot-end|updated)"/);
    });

  it('prints what the table prints: state words, mtu auto, no datapath on l2, times as RFC 3339', async () => {
    const vnis = JSON.parse(await run(['-o', 'json', 'vni', 'list'])) as Array<Record<string, unknown>>;
    assert.deepEqual(vnis[0], {
      id: 42,
      name: 'blue',
      mode: 'l2',
      datapath: null,
      mtu: 'auto',
      dstport: 4789,
      flooding: 'head-end',
      multicastGroup: null,
      subnet: '10.42.0.0/24',
      revision: 3,
      createTime: '2023-11-14T22:13:20.000Z',
      updateTime: '2023-11-14T22:13:21.000Z',
    });
    assert.equal(vnis[1].mtu, 1400);
    assert.equal(vnis[1].flooding, 'multicast');
    const nodes = JSON.parse(await run(['-o', 'json', 'node', 'list'])) as Array<Record<string, unknown>>;
    assert.deepEqual(
      nodes.map((n) => [n.state, n.incarnation, n.configRevision, n.lastSeen, n.agentVersion]),
      [
        ['alive', 4, 5, '2023-11-14T22:13:25.000Z', '0.1.0'],
        ['agent-down', 1, 0, null, null],
      ],
    );
    const endpoints = JSON.parse(await run(['-o', 'json', 'endpoint', 'list'])) as Array<Record<string, unknown>>;
    assert.deepEqual(
      endpoints.map((e) => [e.origin, e.mobilitySeq, e.netns, e.interface, e.version]),
      [
        ['api', 2, 'ns1', 'eth0', { incarnation: 1, counter: 4 }],
        ['learned', 0, null, null, { incarnation: 1, counter: 1 }],
      ],
    );
    const fdb = JSON.parse(await run(['-o', 'json', 'fdb', 'show'])) as Array<Record<string, unknown>>;
    assert.deepEqual(
      fdb.map((e) => e.kind),
      ['unicast', 'flood'],
    );
  });

  it('prints kind/name per line with -o name, and refuses it where nothing has a name', async () => {
    assert.equal(await run(['-o', 'name', 'vni', 'list']), 'vni/42\nvni/100\n');
    assert.equal(await run(['-o', 'name', 'vni', 'show', '42']), 'vni/42\n');
    assert.equal(await run(['-o', 'name', 'node', 'list']), 'node/h1\nnode/h2\n');
    assert.equal(
      await run(['-o', 'name', 'endpoint', 'list']),
      'endpoint/42/02:00:00:00:00:01\nendpoint/42/02:00:00:00:00:02\n',
    );
    assert.equal(await run(['-o', 'name', 'fdb', 'show']), 'fdb/42/02:00:00:00:00:01\nfdb/42/00:00:00:00:00:00/h2\n');
    assert.equal(await run(['-o', 'name', 'fdb', 'dup', 'list']), 'duplicate/42/02:00:00:00:00:01\n');
    assert.equal(await run(['-o', 'name', 'ipam', 'blocks']), 'block/42/10.42.0.0/26\n');
    assert.equal(await run(['-o', 'name', 'keys', 'list']), 'key/a2V5LW9uZQ==\n');
    const status = await ctl([...at, '-o', 'name', 'status']);
    assert.equal(status.status, 2);
    assert.match(status.stderr, /-o name: ctl status prints no named resources; use -o table, wide, json or yaml/);
  });

  it('leaves the header line out with --no-headers', async () => {
    const table = await run(['vni', 'list']);
    assert.match(table, /^VNI +NAME/);
    const bare = await run(['vni', 'list', '--no-headers']);
    // The same rows; the columns are as wide as their cells, without the header's.
    const words = (text: string) => text.split('\n').map((line) => line.split(/ +/));
    assert.deepEqual(words(bare), words(table).slice(1));
    assert.match(await run(['--no-headers', '-o', 'wide', 'node', 'list']), /^h1 /);
  });

  it('adds columns with -o wide', async () => {
    const header = async (...args: string[]) => (await run(args)).split('\n')[0];
    const wide = [
      [
        ['node', 'list'],
        ['GOSSIP', 'INCARNATION', 'AGENT', 'CONFIG', 'LAST SEEN'],
      ],
      [
        ['endpoint', 'list'],
        ['FROZEN', 'VERSION', 'ORIGIN TIME'],
      ],
      [
        ['vni', 'list'],
        ['CREATED', 'UPDATED'],
      ],
      [['fdb', 'show'], ['VERSION']],
    ];
    for (const [args, columns] of wide) {
      const plain = await header(...args);
      const extra = await header('-o', 'wide', ...args);
      for (const c of columns) {
        assert.ok(extra.includes(c), `${args.join(' ')} -o wide: ${c} in ${extra}`);
        assert.ok(!plain.includes(c), `${args.join(' ')}: ${c} only with -o wide`);
      }
    }
  });

  it('names the valid formats for an unknown -o', async () => {
    const r = await ctl([...at, '-o', 'xml', 'vni', 'list']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /-o xml: unknown output format; use one of table, wide, json, yaml, name/);
  });
});
