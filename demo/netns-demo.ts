import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../lab/network';
import { FLOOD_MAC } from '../common/fdb-state/record';
import { eventually } from '../lab/eventually';
import { makeTempDir, removeTempDir } from '../lab/temp-dir';
import { operatorDir } from '../lab/credentials';
import { indentOutput } from './indent-output';

// The multi-host demo on one machine: a controller and three hosts as network namespaces on a shared
// underlay, the real server and agents (gossiping), a workload per host, and ctl driving them.
// Narrated, with the forwarding tables before and after; leaves nothing behind. As a real cluster is
// set up: ctl uses the operator credential the server wrote, and each host enrols with a join token.

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (n: number, text: string) => console.log(`\n${bold(`== ${n}. ${text}`)}`);
const show = (host: LabHost, command: string, args: string[]) => {
  console.log(`[${host.name}]$ ${command} ${args.join(' ')}`);
  const r = command === 'ctl' ? host.ctl(args) : host.run(command, args);
  process.stdout.write(indentOutput(r.stdout + r.stderr));
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}`);
};
const until = (what: string, check: () => boolean) =>
  eventually(() => assert.ok(check(), `timed out waiting for ${what}`), 15_000);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo creates network namespaces: run it as root');
  const dataDir = makeTempDir('demo');
  const lab = LabNetwork.create(['ctrl', 'host1', 'host2', 'host3']);
  const cleanup = async () => {
    await lab.destroy();
    removeTempDir(dataDir);
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    const server = `${ctrl.ip}:50051`;
    const serverDir = path.join(dataDir, 'server');
    const ctl = ['--server', server];
    step(
      1,
      `four hosts as network namespaces on one underlay (${lab.hosts.map((h) => `${h.name}=${h.ip}`).join(', ')})`,
    );
    show(hosts[0], 'ip', ['-br', 'addr', 'show', 'dev', 'eth0']);

    step(2, `the server on ${ctrl.name}, a join token, and a node-agent on each host enrolling with it`);
    const srv = ctrl.spawnBin('server', 'server', ['--listen', server, '--data-dir', serverDir]);
    await srv.waitForLog((r) => r.msg === 'server ready');
    console.log(`  server ready at ${server}; it wrote an operator credential for ctl to ${operatorDir(serverDir)}`);
    // ctl runs as the operator from here on: every ctl below inherits this.
    process.env.VXGOSSIP_CREDENTIALS = operatorDir(serverDir);
    console.log(`[${ctrl.name}]$ export VXGOSSIP_CREDENTIALS=${operatorDir(serverDir)}`);
    console.log(`[${ctrl.name}]$ ctl ${ctl.join(' ')} token create --uses ${hosts.length}`);
    const created = ctrl.ctl([...ctl, 'token', 'create', '--uses', String(hosts.length)]);
    if (created.status !== 0) throw new Error(`ctl token create exited ${created.status}: ${created.stderr}`);
    const joinToken = created.stdout.trim();
    console.log(`  ${joinToken}`);
    const join = hosts.map((h) => `${h.ip}:7946`).join(',');
    await Promise.all(
      hosts.map(async (h) => {
        const agent = h.spawnBin('agent', 'node-agent', [
          '--name',
          h.name,
          '--vtep',
          h.ip,
          '--server',
          server,
          '--data-dir',
          path.join(dataDir, h.name),
          '--join',
          join,
          '--join-token',
          joinToken,
        ]);
        await agent.waitForLog((r) => r.msg === 'connected to server');
        await agent.waitForLog((r) => r.msg === 'joined the gossip cluster', 30_000);
        console.log(
          `  ${h.name}: node-agent enrolled, connected to the server and gossiping, encrypted (VTEP ${h.ip})`,
        );
      }),
    );
    show(ctrl, 'ctl', [...ctl, 'node', 'list']);

    step(3, 'no VXLAN devices yet');
    show(hosts[0], 'ip', ['-br', 'link', 'show', 'type', 'vxlan']);

    step(4, 'ctl vni create 42');
    show(ctrl, 'ctl', [...ctl, 'vni', 'create', '42']);
    await until('vxlan42 on every host', () =>
      hosts.every((h) => {
        const vxlan = h.link('vxlan42');
        return vxlan?.master === 'br42' && (vxlan.flags as string[]).includes('UP');
      }),
    );

    step(5, 'every host now has vxlan42 (a port of br42), programmed by its agent over rtnetlink');
    for (const h of hosts) show(h, 'ip', ['-d', 'link', 'show', 'vxlan42']);

    step(6, 'the server view');
    await until(
      'every agent reporting',
      () =>
        (JSON.parse(ctrl.ctl([...ctl, '-o', 'json', 'vni', 'show', '42']).stdout) as { nodes: unknown[] }).nodes
          .length === hosts.length,
    );
    show(ctrl, 'ctl', [...ctl, 'vni', 'show', '42']);

    step(7, `the forwarding tables before any endpoint: one flood entry per other VTEP (head-end replication)`);
    show(hosts[0], 'bridge', ['fdb', 'show', 'dev', 'vxlan42']);

    step(8, 'a workload on each host: ctl endpoint attach (a veth from a namespace into br42)');
    const workloads: Array<{ host: LabHost; netns: string; ip: string }> = [];
    for (const [i, h] of hosts.entries()) {
      const netns = lab.namespace(`workload${i + 1}`);
      const ip = `10.42.0.${i + 1}`;
      show(ctrl, 'ctl', [
        ...ctl,
        'endpoint',
        'attach',
        '--node',
        h.name,
        '--vni',
        '42',
        '--netns',
        netns,
        '--ip',
        `${ip}/24`,
      ]);
      workloads.push({ host: h, netns, ip });
    }
    await until('every host learned every remote endpoint', () =>
      hosts.every(
        (h) =>
          h
            .exec('bridge', ['fdb', 'show', 'dev', 'vxlan42'])
            .split('\n')
            .filter((l) => / dst /.test(l) && !l.startsWith(FLOOD_MAC)).length ===
          hosts.length - 1,
      ),
    );

    step(
      9,
      `what gossip taught ${hosts[0].name}: MAC -> VTEP on vxlan42, the bridge's entries, and static neighbours for ARP suppression`,
    );
    show(hosts[0], 'bridge', ['fdb', 'show', 'dev', 'vxlan42']);
    show(hosts[0], 'ip', ['neigh', 'show', 'dev', 'br42']);
    show(ctrl, 'ctl', [...ctl, 'fdb', 'show', '--vni', '42']);

    step(10, 'the workloads ping each other across hosts');
    for (const from of workloads) {
      for (const to of workloads) {
        if (from === to) continue;
        const r = lab.execIn(from.netns, 'ping', ['-c', '1', '-W', '2', to.ip]);
        if (r.status !== 0) throw new Error(`${from.ip} -> ${to.ip} failed: ${r.stdout}${r.stderr}`);
        console.log(
          `  ${from.host.name}/${from.ip} -> ${to.host.name}/${to.ip}: ${/time=[\d.]+ ms/.exec(r.stdout)?.[0] ?? 'ok'}`,
        );
      }
    }

    step(11, 'ctl vni delete 42: devices, entries and endpoints disappear everywhere');
    for (const w of workloads)
      show(ctrl, 'ctl', [...ctl, 'endpoint', 'detach', '--node', w.host.name, '--vni', '42', '--netns', w.netns]);
    show(ctrl, 'ctl', [...ctl, 'vni', 'delete', '42']);
    await until('vxlan42 gone everywhere', () =>
      hosts.every((h) => h.link('vxlan42') === undefined && h.link('br42') === undefined),
    );
    for (const h of hosts) show(h, 'ip', ['-br', 'link', 'show', 'type', 'vxlan']);
    console.log(`\n${bold('Demo complete.')} Tearing down the namespaces.`);
  } catch (err) {
    console.error(`\ndemo failed: ${(err as Error).message}`);
    console.error(lab.hosts.map((h) => h.logsOfProcesses()).join('\n'));
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main().catch((err: Error) => {
  console.error(`demo: ${err.message}`);
  process.exit(1);
});
