import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabHost, LabNetwork } from '../lab/network';

// The multi-host demo on one machine: a controller and three hosts as network namespaces on a shared
// underlay, the real server and agents, and ctl driving them. Narrated; leaves nothing behind.

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (n: number, text: string) => console.log(`\n${bold(`== ${n}. ${text}`)}`);
const show = (host: LabHost, command: string, args: string[]) => {
  console.log(`[${host.name}]$ ${command} ${args.join(' ')}`);
  const r = command === 'ctl' ? host.ctl(args) : host.run(command, args);
  process.stdout.write((r.stdout + r.stderr).replace(/^/gm, '  '));
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}`);
};
const until = async (what: string, check: () => boolean, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo creates network namespaces: run it as root');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxgossip-demo-'));
  const lab = LabNetwork.create(['ctrl', 'host1', 'host2', 'host3']);
  const cleanup = async () => {
    await lab.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const [ctrl, ...hosts] = lab.hosts as [LabHost, ...LabHost[]];
    const server = `${ctrl.ip}:50051`;
    step(1, `four hosts as network namespaces on one underlay (${lab.hosts.map((h) => `${h.name}=${h.ip}`).join(', ')})`);
    show(hosts[0]!, 'ip', ['-br', 'addr', 'show', 'dev', 'eth0']);

    step(2, `the server on ${ctrl.name}, a node-agent on each host`);
    const srv = ctrl.spawnBin('server', 'server', ['--listen', server, '--data-dir', path.join(dataDir, 'server')]);
    await srv.waitForLog((r) => r.msg === 'server ready');
    console.log(`  server ready at ${server}`);
    await Promise.all(hosts.map(async (h) => {
      const agent = h.spawnBin('agent', 'node-agent', ['--name', h.name, '--vtep', h.ip, '--server', server, '--data-dir', path.join(dataDir, h.name)]);
      await agent.waitForLog((r) => r.msg === 'connected to server');
      console.log(`  ${h.name}: node-agent connected (VTEP ${h.ip})`);
    }));

    step(3, 'no VXLAN devices yet');
    show(hosts[0]!, 'ip', ['-br', 'link', 'show', 'type', 'vxlan']);

    step(4, 'ctl vni create 42');
    show(ctrl, 'ctl', ['--server', server, 'vni', 'create', '42']);
    await until('vxlan42 on every host', () => hosts.every((h) => h.link('vxlan42')?.master === 'br42' && h.link('vxlan42')?.flags.includes('UP')));

    step(5, 'every host now has vxlan42 (a port of br42), programmed by its agent over rtnetlink');
    for (const h of hosts) show(h, 'ip', ['-d', 'link', 'show', 'vxlan42']);

    step(6, 'the server view');
    await until('every agent reporting', () => JSON.parse(ctrl.ctl(['--server', server, '-o', 'json', 'vni', 'show', '42']).stdout).nodes.length === hosts.length);
    show(ctrl, 'ctl', ['--server', server, 'vni', 'show', '42']);

    step(7, 'ctl vni delete 42: the devices disappear everywhere');
    show(ctrl, 'ctl', ['--server', server, 'vni', 'delete', '42']);
    await until('vxlan42 gone everywhere', () => hosts.every((h) => h.link('vxlan42') === undefined && h.link('br42') === undefined));
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
