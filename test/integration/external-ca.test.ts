import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../../lab/network';
import { eventually } from '../../lab/eventually';
import { makeTempDir } from '../../lab/temp-dir';
import { operatorDir } from '../../lab/credentials';
import { repoRoot } from '../../common/paths';
import { requirePrograms, requireRoot } from '../helpers/require-root';
import { tearDownLab } from '../helpers/lab-teardown';

// Hosts certified by your own CA instead of enrolment: the server serves and trusts that CA, the
// agents gossip and sign with those certificates, and verify the server-signed configuration with
// the cluster CA in their bundle.
describe('agents with certificates from an external CA (2 hosts, real vxlan)', function () {
  this.timeout(120_000);
  let lab: LabNetwork;
  let ctrl: LabHost;
  let hosts: LabHost[];
  const dir = makeTempDir('external-ca');
  const pki = path.join(dir, 'pki');
  const serverDir = path.join(dir, 'server');
  const serverAddr = () => `${ctrl.ip}:50051`;
  const ctl = (...args: string[]) => {
    const r = ctrl.ctl([
      ...['--server', serverAddr(), '--credentials', operatorDir(serverDir), '--tls-ca', `${pki}/ca.crt`],
      ...args,
    ]);
    assert.equal(r.status, 0, `ctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', bridge: 'iproute2', openssl: 'openssl' });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    execFileSync(
      'bash',
      [path.join(repoRoot, 'scripts', 'dev-ca.sh'), pki, ctrl.ip, ...hosts.map((h) => `node:${h.name}@${h.ip}`)],
      { stdio: 'ignore' },
    );
    await ctrl
      .spawnBin('server', 'server', [
        ...['--listen', serverAddr(), '--data-dir', serverDir],
        ...['--tls-cert', `${pki}/server.crt`, '--tls-key', `${pki}/server.key`, '--tls-client-ca', `${pki}/ca.crt`],
      ])
      .waitForLog((r) => r.msg === 'server ready');
    // Peers' certificates come from your CA, the configuration's signer from the cluster CA.
    const bundle = path.join(dir, 'bundle.crt');
    fs.writeFileSync(
      bundle,
      fs.readFileSync(`${pki}/ca.crt`, 'utf8') + fs.readFileSync(`${serverDir}/pki/ca.crt`, 'utf8'),
    );
    const key = randomBytes(32).toString('base64');
    await Promise.all(
      hosts.map((h) =>
        h
          .spawnBin('agent', 'node-agent', [
            ...['--name', h.name, '--vtep', h.ip, '--server', serverAddr(), '--data-dir', path.join(dir, h.name)],
            ...['--join', hosts.map((x) => `${x.ip}:7946`).join(','), '--encrypt-key', key],
            ...['--tls-ca', bundle, '--tls-cert', `${pki}/${h.name}.crt`, '--tls-key', `${pki}/${h.name}.key`],
          ])
          .waitForLog((r) => r.msg === 'connected to server', 30_000),
      ),
    );
  });

  tearDownLab(() => lab, dir);

  it('realises the signed configuration and programs what the other host signed', async () => {
    ctl('vni', 'create', '42');
    for (const h of hosts) await eventually(() => assert.ok(h.link('br42'), `br42 on ${h.name}`), 20_000);
    const netns = lab.namespace('x-ep1');
    const { mac } = JSON.parse(
      ctl('-o', 'json', 'endpoint', 'attach', '--node', 'h1', '--vni', '42', '--netns', netns, '--ip', '10.42.0.1/24'),
    ) as { mac: string };
    await eventually(() => {
      const fdb = JSON.parse(hosts[1].exec('bridge', ['-j', 'fdb', 'show', 'dev', 'vxlan42']) || '[]') as Array<{
        mac: string;
        dst?: string;
      }>;
      assert.equal(fdb.find((e) => e.mac === mac && e.dst)?.dst, hosts[0].ip);
    }, 15_000);
  });
});
