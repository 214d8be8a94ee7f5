import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { ETCD, LocalEtcd } from '../../lab/local-etcd';
import { requirePrograms } from '../helpers/require-root';

// The suites that hold the server to its API, run again with every server they start keeping its state
// in etcd (three members on loopback) instead of level: what a client sees must not depend on the store.
const SUITES = [
  'server-api',
  'python-client',
  'replication',
  'watch',
  'token',
  'enrolment',
  'ctl',
  'tls',
  'large-views',
];
// What only a level store has: its lock, its repair, and the cluster's keys as files in --data-dir
// (with etcd they are in etcd, and shared-pki.test covers them there).
const LEVEL_ONLY = [
  'refuses to start on a corrupt database',
  'refuses a second server on the same data directory',
  'writes the operator credential at first start',
];

describe('the API contract suites against a server on etcd (3 members)', function () {
  this.timeout(15 * 60_000);
  let etcd: LocalEtcd | undefined;

  before(async function () {
    requirePrograms(this, ETCD);
    etcd = await LocalEtcd.start(3);
  });
  after(() => etcd?.stop());

  it(`passes ${SUITES.join(', ')}`, async () => {
    const files = SUITES.map((s) => path.join(repoRoot, 'dist', 'test', 'integration', `${s}.test.js`));
    const mocha = path.join(repoRoot, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const child = spawn(
      process.execPath,
      [mocha, '--no-config', '--timeout', '60000', '--exit', '--invert', '--grep', LEVEL_ONLY.join('|'), ...files],
      {
        env: { ...process.env, VXGOSSIP_TEST_ETCD_ENDPOINTS: etcd!.endpoints.join(',') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const summary = /\d+ passing[^]*$/.exec(output)?.[0] ?? output.slice(-4000);
    console.log(`      ${summary.trim().split('\n').slice(0, 3).join('; ')}`);
    assert.equal(code, 0, output.slice(-8000));
    assert.match(output, /\d+ passing/);
  });
});
