import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../../lab/eventually';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { createJoinToken, operatorArgs } from '../../lab/credentials';
import { gossipKeyringFile } from '../../server/trust/cluster-pki';
import { keyringFileOf } from '../../node-agent/trust/identity-files';

// Gossip encryption key rotation through ctl, as serf's keys command: install, use, remove, list on
// every agent, with the keyring files rewritten and gossip working throughout. Agents gossip with
// the keyring enrolment handed them (h1, h2) or with one of the operator's (h3, --keyring-file); the
// server's copy follows too, so a host enrolled after the rotation (h4) gets the new key.
describe('gossip key rotation through ctl keys (3 hosts, then a 4th, encrypted gossip)', function () {
  this.timeout(180_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  let late: LabHost;
  const dirs: string[] = [];
  const agents = new Map<string, ManagedProcess>();
  let attachedNetns = '';
  // The server's own key, which enrolment hands out; replaced by newKey.
  let oldKey = '';
  const newKey = randomBytes(32).toString('base64');
  const serverDir = () => path.join(dirs[0], 'server');
  const agentDir = (h: LabHost) => path.join(dirs[0], h.name);
  const ownKeyringFile = (h: LabHost) => path.join(dirs[0], `${h.name}.keyring.json`);
  const keyringFile = (h: LabHost) => (h.name === 'h3' ? ownKeyringFile(h) : keyringFileOf(agentDir(h)));
  const readKeys = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
  const serverAddr = () => `${ctrl.ip}:50051`;
  const ctl = (...args: string[]) => ctrl.ctl([...operatorArgs(serverAddr(), serverDir()), ...args]);
  const ok = (...args: string[]) => {
    const r = ctl(...args);
    assert.equal(r.status, 0, `ctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  function startAgent(h: LabHost, joinToken: string): ManagedProcess {
    const join = hosts.map((x) => `${x.ip}:7946`).join(',');
    const agent = h.spawnBin('agent', 'node-agent', [
      '--name',
      h.name,
      '--vtep',
      h.ip,
      '--server',
      serverAddr(),
      '--data-dir',
      agentDir(h),
      '--join',
      join,
      '--join-token',
      joinToken,
      ...(h.name === 'h3' ? ['--keyring-file', ownKeyringFile(h)] : []),
    ]);
    agents.set(h.name, agent);
    return agent;
  }

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2', 'h3', 'h4']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    late = hosts.pop()!;
    dirs.push(makeTempDir('keys'));
    await ctrl
      .spawnBin('server', 'server', ['--listen', serverAddr(), '--data-dir', serverDir()])
      .waitForLog((r) => r.msg === 'server ready');
    [oldKey] = readKeys(gossipKeyringFile(serverDir()));
    const joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr(), serverDir(), hosts.length);
    fs.writeFileSync(ownKeyringFile(hosts[2]), JSON.stringify([oldKey]));
    await Promise.all(
      hosts.map((h) => startAgent(h, joinToken).waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000)),
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
    assert.equal(refused.status, 3, 'every agent failed it');
    assert.match(refused.stdout + refused.stderr, /primary key cannot be removed/);
    ok('keys', 'remove', oldKey);
    const list = JSON.parse(ok('-o', 'json', 'keys', 'list'));
    assert.deepEqual(list.keys, { [newKey]: 3 });
    assert.deepEqual(list.primaryKeys, { [newKey]: 3 });
    for (const h of hosts) assert.deepEqual(readKeys(keyringFile(h)), [newKey], `${h.name}'s keyring file`);
    assert.deepEqual(
      readKeys(gossipKeyringFile(serverDir())),
      [newKey],
      "the server's copy, for hosts enrolling later",
    );
    const bad = ctl('keys', 'install', 'bm90LWEta2V5');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /key: must be the base64 of 16, 24 or 32 bytes/);
  });

  it('hands the new key to a host enrolled after the rotation, which joins the gossip', async () => {
    const joinToken = createJoinToken((a) => ctrl.ctl(a), serverAddr(), serverDir());
    await startAgent(late, joinToken).waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000);
    assert.deepEqual(readKeys(keyringFile(late)), readKeys(gossipKeyringFile(serverDir())));
    hosts.push(late);
    await eventually(() => assert.deepEqual(JSON.parse(ok('-o', 'json', 'keys', 'list')).primaryKeys, { [newKey]: 4 }));
  });

  it('gossip keeps working on the new key: an endpoint attached now is learned everywhere', async () => {
    ok('vni', 'create', '42');
    await eventually(() => assert.ok(hosts.every((h) => h.link('br42'))), 20_000);
    const netns = (attachedNetns = lab.namespace('after-rotation'));
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

  it('lists where an endpoint is attached; vni delete refuses it, and --cascade detaches it on its host', () => {
    const list = ok('endpoint', 'list', '--vni', '42');
    assert.match(list, /NETNS +INTERFACE/);
    assert.ok(
      list.split('\n').some((l) => l.includes(` ${attachedNetns} `) && l.includes(' eth0 ')),
      list,
    );
    const refused = ctl('vni', 'delete', '42');
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(
      refused.stderr,
      new RegExp(`VNI 42 has 1 attached endpoint\\(s\\): h1 ${attachedNetns}/eth0; .*--cascade`),
    );
    assert.match(
      ok('vni', 'delete', '42', '--cascade'),
      /deleted at revision \d+ \(1 attached endpoint\(s\) detached\)/,
    );
    assert.equal(lab.execIn(attachedNetns, 'ip', ['link', 'show', 'eth0']).status, 1, 'the veth is gone');
  });

  it('names a known agent that is not connected, and exits 3: it did not get the key', async () => {
    await agents.get('h2')!.stop('SIGTERM');
    const key = randomBytes(32).toString('base64');
    await eventually(() => {
      const r = ctl('keys', 'install', key);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /^h2: not connected to this server, so it did not get this: run the command again/m);
      assert.match(r.stderr, /1 node\(s\) did not answer or failed: h2;/);
    }, 20_000);
  });
});
