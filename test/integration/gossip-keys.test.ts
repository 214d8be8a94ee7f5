import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../../lab/network';
import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';

// Gossip encryption key rotation through ctl, as serf's keys command: install, use, remove, list on
// every agent, with the keyring files rewritten and gossip working throughout.
describe('gossip key rotation through ctl keys (3 hosts, encrypted gossip)', function () {
  this.timeout(180_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  const dirs: string[] = [];
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  const keyringFile = (h: LabHost) => path.join(dirs[0], `${h.name}.keyring.json`);
  const serverAddr = () => `${ctrl.ip}:50051`;
  const ctl = (...args: string[]) => ctrl.ctl(['--server', serverAddr(), ...args]);
  const ok = (...args: string[]) => {
    const r = ctl(...args);
    assert.equal(r.status, 0, `ctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    dirs.push(makeTempDir('keys'));
    await ctrl
      .spawnBin('server', 'server', ['--listen', serverAddr(), '--data-dir', path.join(dirs[0], 'server')])
      .waitForLog((r) => r.msg === 'server ready');
    const join = hosts.map((h) => `${h.ip}:7946`).join(',');
    await Promise.all(
      hosts.map((h) => {
        fs.writeFileSync(keyringFile(h), JSON.stringify([oldKey]));
        return h
          .spawnBin('agent', 'node-agent', [
            '--name',
            h.name,
            '--vtep',
            h.ip,
            '--server',
            serverAddr(),
            '--data-dir',
            path.join(dirs[0], h.name),
            '--join',
            join,
            '--keyring-file',
            keyringFile(h),
          ])
          .waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000);
      }),
    );
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && lab)
      console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });

  after(async () => {
    await lab?.destroy();
    for (const d of dirs) removeTempDir(d);
  });

  it('lists the key every agent holds and uses', async () => {
    await eventually(() => {
      const list = JSON.parse(ok('-o', 'json', 'keys', 'list'));
      assert.deepEqual(list.keys, { [oldKey]: 3 });
      assert.deepEqual(list.primaryKeys, { [oldKey]: 3 });
    }, 20_000);
  });

  it('rotates: install, use, remove; files follow; the primary key cannot be removed', async () => {
    ok('keys', 'install', newKey);
    assert.deepEqual(JSON.parse(ok('-o', 'json', 'keys', 'list')).keys, { [oldKey]: 3, [newKey]: 3 });
    ok('keys', 'use', newKey);
    const refused = ctl('keys', 'remove', newKey);
    assert.equal(refused.status, 1);
    assert.match(refused.stdout + refused.stderr, /primary key cannot be removed/);
    ok('keys', 'remove', oldKey);
    const list = JSON.parse(ok('-o', 'json', 'keys', 'list'));
    assert.deepEqual(list.keys, { [newKey]: 3 });
    assert.deepEqual(list.primaryKeys, { [newKey]: 3 });
    for (const h of hosts)
      assert.deepEqual(JSON.parse(fs.readFileSync(keyringFile(h), 'utf8')), [newKey], `${h.name}'s keyring file`);
    const bad = ctl('keys', 'install', 'bm90LWEta2V5');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /key: must be the base64 of 16, 24 or 32 bytes/);
  });

  it('gossip keeps working on the new key: an endpoint attached now is learned everywhere', async () => {
    ok('vni', 'create', '42');
    await eventually(() => assert.ok(hosts.every((h) => h.link('br42'))), 20_000);
    const netns = lab.namespace('after-rotation');
    const attached = JSON.parse(
      ok('-o', 'json', 'endpoint', 'attach', '--node', 'h1', '--vni', '42', '--netns', netns, '--ip', '10.42.0.1/24'),
    );
    await eventually(() => {
      for (const h of hosts.slice(1))
        assert.match(
          h.exec('bridge', ['fdb', 'show', 'dev', 'vxlan42']),
          new RegExp(`${attached.mac} dst ${hosts[0].ip.replace(/\./g, '\\.')}`),
        );
    }, 20_000);
  });
});
