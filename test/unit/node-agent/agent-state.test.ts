import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentState } from '../../../node-agent/agent-state';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';

describe('agent state in --data-dir', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('agent-state');
  });
  afterEach(() => removeTempDir(dir));

  it('bumps the incarnation at every start and keeps the last VNI configuration', () => {
    const first = AgentState.open(dir, 'h1');
    assert.equal(first.incarnation, 1);
    first.saveConfig({
      revision: 5,
      revocations: [],
      signed: { config: Buffer.from('c'), signature: Buffer.alloc(64), signer: Buffer.from('s') },
      vnis: [
        {
          id: 42,
          name: 'vni-42',
          mtu: 0,
          dstport: 4789,
          mode: 'l2',
          multicastGroup: '',
          subnet: '',
          datapath: '',
          revision: 5,
          createTimeMs: 0,
          updateTimeMs: 0,
        },
      ],
    });
    const second = AgentState.open(dir, 'h1');
    assert.equal(second.incarnation, 2);
    assert.equal(second.configRevision, 5);
    assert.deepEqual(
      second.vnis.map((v) => v.id),
      [42],
    );
  });

  it('refuses a data directory that belongs to another node', () => {
    AgentState.open(dir, 'h1');
    assert.throws(() => AgentState.open(dir, 'h2'), /belongs to node "h1", not "h2"/);
  });

  it('names the file when its JSON is corrupt', () => {
    fs.writeFileSync(path.join(dir, 'identity.json'), '{"node": ');
    assert.throws(() => AgentState.open(dir, 'h1'), /identity\.json is not valid JSON/);
  });
});
