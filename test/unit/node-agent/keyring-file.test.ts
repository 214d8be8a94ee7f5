import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Keyring } from 'memberlist-ts';
import { readKeyringFile, syncKeyring } from '../../../node-agent/gossip/keyring-file';

const key = (n: number) => Buffer.alloc(16, n);
const b64 = (n: number) => key(n).toString('base64');

describe('the gossip keyring file', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-keyring-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a JSON array of base64 keys, the first the primary', () => {
    const file = path.join(dir, 'keyring.json');
    fs.writeFileSync(file, JSON.stringify([b64(2), b64(1)]));
    const keyring = readKeyringFile(file);
    assert.ok(keyring.primary.equals(key(2)));
    assert.equal(keyring.all().length, 2);
  });

  it('says what is wrong with a file that is not one', () => {
    const file = path.join(dir, 'keyring.json');
    fs.writeFileSync(file, '{"a": 1}');
    assert.throws(
      () => readKeyringFile(file),
      /--keyring-file .*keyring\.json: expected a non-empty JSON array of base64 strings/,
    );
    fs.writeFileSync(file, JSON.stringify(['c2hvcnQ=']));
    assert.throws(() => readKeyringFile(file), /a key must be 16, 24 or 32 bytes/);
    assert.throws(() => readKeyringFile(path.join(dir, 'none')), /ENOENT/);
  });

  it("makes the running keyring the file's: installs, switches the primary, removes, and says so", () => {
    const running = new Keyring([key(1), key(2)]);
    const summary = syncKeyring(running, new Keyring([key(3), key(2)]));
    assert.deepEqual(
      running.all().map((k) => k[0]),
      [3, 2],
    );
    assert.deepEqual(summary, { installed: 1, removed: 1, primaryChanged: true });
  });

  it('changes nothing when the file did not change', () => {
    const running = new Keyring([key(1), key(2)]);
    assert.deepEqual(syncKeyring(running, new Keyring([key(1), key(2)])), {
      installed: 0,
      removed: 0,
      primaryChanged: false,
    });
  });
});
