import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
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

  it('takes several server addresses, refusing a bad one by name', () => {
    const r = agent('--server', '198.18.0.1:50051,198.18.0.2');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--server: "198\.18\.0\.2" has no port/);
    const many = Array.from({ length: 17 }, (_, i) => `198.18.0.${i + 1}:50051`).join(',');
    assert.match(agent('--server', many).stderr, /--server: 17 addresses; give at most 16/);
  });

  it('refuses a VTEP sweep timeout that does not end before the next ping', () => {
    const r = agent('--vtep-sweep-interval', '200ms', '--vtep-sweep-timeout', '250ms');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--vtep-sweep-timeout \(250ms\) must be shorter than --vtep-sweep-interval \(200ms\)/);
  });
});

describe('node-agent configuration', () => {
  const run = (args: string[], env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'node-agent'), ...args], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, ...env },
    });
    return { status: r.status, stderr: r.stderr };
  };

  it('takes its options from VXGOSSIP_AGENT_* and says which variable holds a bad value', () => {
    const r = run([], {
      VXGOSSIP_AGENT_NAME: 'h1',
      VXGOSSIP_AGENT_VTEP: '198.18.0.1',
      VXGOSSIP_AGENT_DATA_DIR: '/nonexistent',
      VXGOSSIP_AGENT_GOSSIP_PROBE_INTERVAL: '10ms',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--gossip-probe-interval.*\(set by VXGOSSIP_AGENT_GOSSIP_PROBE_INTERVAL\)/);
  });

  it('names the variable or the file key that holds a bad server address', () => {
    const base = {
      VXGOSSIP_AGENT_NAME: 'h1',
      VXGOSSIP_AGENT_VTEP: '198.18.0.1',
      VXGOSSIP_AGENT_DATA_DIR: '/nonexistent',
    };
    const r = run([], { ...base, VXGOSSIP_AGENT_SERVER: '198.18.0.1:50051,,198.18.0.2:50051' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--server: address 2 of .* is empty.*\(set by VXGOSSIP_AGENT_SERVER\)/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-agent-config-'));
    try {
      const file = path.join(dir, 'agent.yaml');
      fs.writeFileSync(file, 'server:\n  - 198.18.0.1:50051\n  - 198.18.0.2:x\n');
      const f = run(['--config', file], base);
      assert.equal(f.status, 2);
      assert.match(f.stderr, new RegExp(`--server: must be an integer .*"x".*\\(set by key "server" of ${file}\\)`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown key in its config file, naming the file and the key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-agent-config-'));
    try {
      const file = path.join(dir, 'agent.yaml');
      fs.writeFileSync(file, 'name: h1\nvtep: 198.18.0.1\ndata-dir: /nonexistent\ngossip-interval: 1s\n');
      const r = run(['--config', file], {});
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`config file ${file}: unknown key "gossip-interval"`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
