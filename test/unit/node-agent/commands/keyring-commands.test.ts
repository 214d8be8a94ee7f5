import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Keyring } from 'memberlist-ts';
import { KeyringCommands } from '../../../../node-agent/commands/keyring-commands';

describe('ctl keys on one agent', () => {
  const key = randomBytes(32);
  const other = randomBytes(32).toString('base64');

  it('says the change is in memory only when the agent has no keyring file (--encrypt-key)', () => {
    const keys = new KeyringCommands(Keyring.fromBase64([key.toString('base64')]), undefined, 'h1');
    const res = keys.run({ cmd: 'installKey', installKey: { key: other } } as never);
    assert.deepEqual(res.unsavedNodes, ['h1']);
    assert.equal(Object.keys(res.keys!).length, 2);
  });

  it('rewrites the keyring file, and then has nothing to warn of', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyring-'));
    try {
      const file = path.join(dir, 'keyring.json');
      const keys = new KeyringCommands(Keyring.fromBase64([key.toString('base64')]), file, 'h1');
      const res = keys.run({ cmd: 'installKey', installKey: { key: other } } as never);
      assert.deepEqual(res.unsavedNodes, []);
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), [key.toString('base64'), other]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
