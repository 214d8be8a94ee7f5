import { strict as assert } from 'node:assert';
import { createLogger } from '../../../../common/log';
import type { KernelConflict } from '../../../../node-agent/kernel/foreign-entries';
import { ConflictLog } from '../../../../node-agent/reconcile/conflict-log';

describe('kernel conflict log', () => {
  it('logs a conflict when it appears and when it ends, not at every pass', () => {
    const lines: Array<Record<string, unknown>> = [];
    const conflicts = new ConflictLog(
      createLogger({ component: 'test', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
    );
    const route: KernelConflict = { vni: 50, kind: 'route', address: '10.50.0.2/32', found: 'proto static' };
    const neigh: KernelConflict = { vni: 50, kind: 'neigh', address: '10.50.0.3', found: 'nud permanent' };
    for (const pass of [[route], [route], [route, neigh], [neigh], [neigh], []]) conflicts.update(pass);
    assert.deepEqual(
      lines.map((l) => `${String(l.level)} ${String(l.kind)} ${String(l.address)}`),
      ['warn route 10.50.0.2/32', 'warn neigh 10.50.0.3', 'info route 10.50.0.2/32', 'info neigh 10.50.0.3'],
    );
    assert.match(String(lines[0].fix), /ip route del 10\.50\.0\.2\/32/);
  });
});
