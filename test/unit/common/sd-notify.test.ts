import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sdNotify } from '../../../common/sd-notify';
import { NOTIFY_PROGRAMS, notifyListener } from '../../helpers/notify-socket';
import { requirePrograms } from '../../helpers/require-root';

describe('systemd notification', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-notify-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends the state to $NOTIFY_SOCKET as one datagram', async function () {
    requirePrograms(this, NOTIFY_PROGRAMS);
    const listener = await notifyListener(path.join(dir, 'notify'));
    try {
      assert.equal(sdNotify('READY=1', { NOTIFY_SOCKET: listener.path }), true);
      assert.equal(await listener.next(), 'READY=1');
    } finally {
      listener.close();
    }
  });

  it('does nothing outside systemd', () => {
    assert.equal(sdNotify('READY=1', {}), false);
  });

  it('says why it cannot reach the socket', () => {
    const at = path.join(dir, 'nobody');
    assert.throws(() => sdNotify('READY=1', { NOTIFY_SOCKET: at }), new RegExp(`NOTIFY_SOCKET ${at}: .*ENOENT`));
    assert.throws(() => sdNotify('READY=1', { NOTIFY_SOCKET: '@abstract' }), /abstract socket .*not supported/);
  });
});
