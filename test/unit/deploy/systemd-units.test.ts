import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../../common/paths';
import { requirePrograms } from '../../helpers/require-root';

const unitsDir = path.join(repoRoot, 'deploy', 'systemd');
const UNITS = ['vxgossip-server.service', 'vxgossip-agent.service'];
// Where the README installs the checkout; verify wants ExecStart's program to exist, so the copy
// checked points at this checkout instead.
const INSTALLED = '/opt/vxgossip/';

const directives = (unit: string) =>
  fs
    .readFileSync(path.join(unitsDir, unit), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l));

describe('systemd units in deploy/systemd', () => {
  for (const unit of UNITS) {
    it(`${unit} waits for the daemon's READY=1, reloads with SIGHUP and hardens the service`, () => {
      const lines = directives(unit);
      for (const d of ['Type=notify', 'NotifyAccess=main', 'ExecReload=/bin/kill -HUP $MAINPID', 'NoNewPrivileges=yes'])
        assert.ok(lines.includes(d), `${unit} lacks ${d}`);
      assert.ok(
        lines.some((l) => l.startsWith('CapabilityBoundingSet=')),
        `${unit} does not bound its capabilities`,
      );
      assert.ok(
        lines.some((l) => l.startsWith(`ExecStart=${INSTALLED}bin/`)),
        `${unit} does not start from ${INSTALLED}`,
      );
    });
  }

  it('systemd-analyze verify accepts both units', function () {
    requirePrograms(this, { 'systemd-analyze': 'systemd' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-units-'));
    try {
      const files = UNITS.map((unit) => {
        const text = fs.readFileSync(path.join(unitsDir, unit), 'utf8').replaceAll(INSTALLED, `${repoRoot}/`);
        fs.writeFileSync(path.join(dir, unit), text);
        return path.join(dir, unit);
      });
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
      const output = `${r.stdout}${r.stderr}`.trim();
      assert.equal(r.status, 0, output);
      const ours = output.split('\n').filter((l) => l.includes('vxgossip'));
      assert.deepEqual(ours, [], 'systemd-analyze verify warned about our units');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
