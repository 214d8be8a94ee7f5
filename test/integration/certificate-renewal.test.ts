import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../../lab/network';
import type { ManagedProcess } from '../../lab/managed-process';
import { eventually } from '../../lab/eventually';
import { makeTempDir } from '../../lab/temp-dir';
import { createJoinToken, operatorArgs } from '../../lab/credentials';
import { TrustAnchor } from '../../common/pki';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { tearDownLab } from '../helpers/lab-teardown';

// Node certificates with the shortest lifetime the server allows (1 min): each agent renews at two
// thirds of it with a new key, re-opens its server stream with the new certificate, and its peers
// take what it signs with the new key (they fetch the new certificate from it).
describe('certificate renewal (2 hosts, 1-minute certificates)', function () {
  this.timeout(180_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  const agents = new Map<string, ManagedProcess>();
  let server: ManagedProcess;
  const dir = makeTempDir('renewal');
  const serverDir = path.join(dir, 'server');
  const serverAddr = () => `${ctrl.ip}:50051`;
  const ctl = (...args: string[]) => {
    const r = ctrl.ctl([...operatorArgs(serverAddr(), serverDir), ...args]);
    assert.equal(r.status, 0, `ctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const certificateOf = (h: LabHost) =>
    new TrustAnchor(fs.readFileSync(path.join(dir, h.name, 'identity', 'ca.crt'), 'utf8')).verify(
      fs.readFileSync(path.join(dir, h.name, 'identity', 'node.crt'), 'utf8'),
    );
  const kernelDst = (h: LabHost, mac: string) =>
    (
      JSON.parse(h.exec('bridge', ['-j', 'fdb', 'show', 'dev', 'vxlan42']) || '[]') as Array<{
        mac: string;
        dst?: string;
      }>
    ).find((e) => e.mac === mac && e.dst)?.dst;

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    server = ctrl.spawnBin('server', 'server', [
      '--listen',
      serverAddr(),
      '--data-dir',
      serverDir,
      '--node-cert-ttl',
      '1m',
    ]);
    await server.waitForLog((r) => r.msg === 'server ready');
    const token = createJoinToken((a) => ctrl.ctl(a), serverAddr(), serverDir, hosts.length);
    await Promise.all(
      hosts.map((h) => {
        const agent = h.spawnBin('agent', 'node-agent', [
          ...['--name', h.name, '--vtep', h.ip, '--server', serverAddr(), '--data-dir', path.join(dir, h.name)],
          ...['--join', hosts.map((x) => `${x.ip}:7946`).join(','), '--join-token', token],
        ]);
        agents.set(h.name, agent);
        return agent.waitForLog((r) => r.msg === 'connected to server', 30_000);
      }),
    );
  });

  tearDownLab(() => lab, dir);

  it('keeps the key and certificate owner-only in the data dir', () => {
    for (const h of hosts)
      for (const file of ['node.key', 'node.crt', 'gossip-keyring.json'])
        assert.equal(fs.statSync(path.join(dir, h.name, 'identity', file)).mode & 0o777, 0o600, `${h.name} ${file}`);
  });

  it('renews before expiry; the server stream and gossip carry on with the new certificate', async () => {
    ctl('vni', 'create', '42');
    const first = new Map(hosts.map((h) => [h.name, certificateOf(h).fingerprint]));
    await Promise.all(hosts.map((h) => agents.get(h.name)!.waitForLog((r) => r.msg === 'certificate renewed', 90_000)));
    for (const h of hosts) assert.notEqual(certificateOf(h).fingerprint, first.get(h.name), `${h.name} renewed`);
    // The stream is re-opened with the new certificate: both agents are back on it.
    await Promise.all(
      hosts.map((h) => {
        const agent = agents.get(h.name)!;
        const renewedAt = agent.logRecords().findIndex((r) => r.msg === 'certificate renewed');
        return agent.waitForLog((r) => r.msg === 'connected to server', 15_000, renewedAt);
      }),
    );
    await eventually(() => {
      const nodes = JSON.parse(ctl('-o', 'json', 'node', 'list')) as Array<{ name: string; connected: boolean }>;
      assert.deepEqual(
        nodes.map((n) => [n.name, n.connected]),
        [
          ['h1', true],
          ['h2', true],
        ],
      );
    }, 15_000);
    // The new stream replaced the old one without a gap: the server never saw either agent go.
    assert.deepEqual(
      server.logRecords().filter((r) => r.msg === 'agent disconnected'),
      [],
    );
    // Signed with the new key: h2 must verify it (it fetches h1's new certificate) and program it.
    const netns = lab.namespace('r-ep1');
    const attached = JSON.parse(
      ctl('-o', 'json', 'endpoint', 'attach', '--node', 'h1', '--vni', '42', '--netns', netns, '--ip', '10.42.0.1/24'),
    ) as { mac: string };
    await eventually(() => assert.equal(kernelDst(hosts[1], attached.mac), hosts[0].ip), 15_000);
  });
});
