import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { inCi } from '../helpers/require-root';
import { ServerHandle, startServer } from '../../lab/server-process';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { operatorDir } from '../../lab/credentials';

// Debian's Python (not whatever python3 is first on PATH) has python3-grpcio and python3-grpc-tools.
const PYTHON = '/usr/bin/python3';

// The API as a client that is not ours sees it: stubs generated from proto/ by grpc_tools, every
// RPC family and error code exercised by test/python/contract_client.py.
describe('API contract through Python stubs generated from proto/', function () {
  this.timeout(60_000);
  let server: ServerHandle;
  let stubs: string;

  before(async function () {
    const probe = spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      if (inCi) throw new Error('python3-grpcio / python3-grpc-tools missing in CI (npm run setup installs them)');
      console.warn('\n!! SKIPPED: the Python contract tests need apt-get install python3-grpcio python3-grpc-tools\n');
      this.skip();
    }
    stubs = makeTempDir('pystubs');
    const protos = fs.readdirSync(path.join(repoRoot, 'proto', 'vxgossip', 'v1')).map((f) => `vxgossip/v1/${f}`);
    execFileSync(
      PYTHON,
      [
        '-m',
        'grpc_tools.protoc',
        '-I',
        path.join(repoRoot, 'proto'),
        `--python_out=${stubs}`,
        `--grpc_python_out=${stubs}`,
        ...protos,
      ],
      { stdio: 'pipe' },
    );
    server = await startServer();
  });

  after(async () => {
    await server?.proc.stop();
    if (stubs) removeTempDir(stubs);
  });

  it('meets every expectation of the contract client', () => {
    const client = path.join(repoRoot, 'test', 'python', 'contract_client.py');
    const r = spawnSync(PYTHON, [client, stubs, server.address, operatorDir(server.dataDir)], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /contract ok/);
  });
});
