import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabCluster } from '../../lab/lab-cluster';
import { LabNetwork } from '../../lab/network';
import { makeTempDir } from '../../lab/temp-dir';
import { keyringFileOf } from '../../node-agent/trust/identity-files';
import { tearDownLab } from '../helpers/lab-teardown';
import { NOTIFY_PROGRAMS, notifyListener, type NotifyListener } from '../helpers/notify-socket';
import { requirePrograms, requireRoot } from '../helpers/require-root';

// A real agent as systemd runs it: its options from a config file, READY=1 once it has reconciled,
// SIGHUP for its log level and its keyring file, STOPPING=1 on SIGTERM.
describe('the agent as a service (2 hosts)', function () {
  this.timeout(120_000);
  let lab: LabNetwork | undefined;
  let cluster: LabCluster;
  let listener: NotifyListener | undefined;
  const dir = makeTempDir('agent-service');
  tearDownLab(() => lab, dir);
  const h1 = () => cluster.hosts[0];
  const configFile = (name: string) => path.join(dir, `${name}.yaml`);
  const keyring = () => keyringFileOf(path.join(dir, h1().name));

  before(async function () {
    requireRoot(this);
    requirePrograms(this, { ip: 'iproute2', ...NOTIFY_PROGRAMS });
    lab = LabNetwork.create(['ctrl', 'h1', 'h2']);
    for (const name of ['h1', 'h2']) fs.writeFileSync(configFile(name), 'log-level: info\ndup-max-moves: 5\n');
    cluster = await LabCluster.start(lab, dir, { agentArgs: (h) => ['--config', configFile(h.name)] });
  });

  after(() => listener?.close());

  it('tells systemd READY=1 once it has reconciled, with its options from the file', async () => {
    await cluster.agent(h1()).stop('SIGTERM');
    listener = await notifyListener(path.join(dir, 'notify'));
    const agent = cluster.startAgent(h1(), { NOTIFY_SOCKET: listener.path });
    assert.equal(await listener.next(), 'READY=1');
    // Sent after the first reconcile's log line (its pipe may deliver it a little later).
    await agent.waitForLog((r) => r.msg === 'reconciled', 2_000);
  });

  it('changes its log level and its keyring on SIGHUP, and keeps running on a broken file', async () => {
    const agent = cluster.agent(h1());
    fs.writeFileSync(configFile('h1'), 'log-level: debug\ndup-max-moves: 7\n');
    const keys = JSON.parse(fs.readFileSync(keyring(), 'utf8')) as string[];
    fs.writeFileSync(keyring(), JSON.stringify([...keys, randomBytes(32).toString('base64')]));
    const from = agent.logRecords().length;
    agent.child.kill('SIGHUP');
    const reloaded = await agent.waitForLog((r) => r.msg === 'configuration reloaded', 10_000, from);
    assert.deepEqual(reloaded.changed, {
      'log-level': { from: 'info', to: 'debug' },
      'dup-max-moves': { from: '5', to: '7' },
    });
    assert.deepEqual(reloaded.keyring, { file: keyring(), installed: 1, removed: 0, primaryChanged: false });

    fs.writeFileSync(configFile('h1'), 'log-level: debug\nnot-a-flag: 1\n');
    const broken = agent.logRecords().length;
    agent.child.kill('SIGHUP');
    const failed = await agent.waitForLog((r) => r.msg.startsWith('configuration reload failed'), 10_000, broken);
    assert.match(String(failed.error), /unknown key "not-a-flag"/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(agent.running, 'the agent exited on SIGHUP');
  });

  it('tells systemd STOPPING=1 on SIGTERM', async () => {
    await cluster.agent(h1()).stop('SIGTERM');
    assert.equal(await listener!.next(), 'STOPPING=1');
  });
});
