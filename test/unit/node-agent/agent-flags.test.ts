import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../../common/paths';

// The agent refuses bad flags before it touches the machine: a clear message, a non-zero exit.
function agent(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'bin', 'node-agent'),
      '--name',
      'h1',
      '--vtep',
      '198.18.0.1',
      '--data-dir',
      '/nonexistent',
      ...args,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return { status: r.status, stderr: r.stderr };
}

describe('node-agent flags', () => {
  it('refuses a gossip probe timeout that does not end before the interval', () => {
    const r = agent('--gossip-probe-interval', '300ms', '--gossip-probe-timeout', '300ms');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--gossip-probe-timeout \(300ms\) must be shorter than --gossip-probe-interval \(300ms\)/);
  });

  it('refuses a gossip probe interval out of range', () => {
    const r = agent('--gossip-probe-interval', '10ms');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--gossip-probe-interval/);
  });

  it('refuses a VTEP sweep timeout that does not end before the next ping', () => {
    const r = agent('--vtep-sweep-interval', '200ms', '--vtep-sweep-timeout', '250ms');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--vtep-sweep-timeout \(250ms\) must be shorter than --vtep-sweep-interval \(200ms\)/);
  });
});
