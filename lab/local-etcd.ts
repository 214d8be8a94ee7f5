import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { etcdMemberArgs } from './etcd-member-args';
import { makeTempDir, removeTempDir } from './temp-dir';

export const ETCD = { etcd: 'etcd-server' };

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

interface Member {
  child: ChildProcess;
  output: string;
}

// An etcd cluster on loopback (one member by default), each member with its own ports and data
// directory, for tests and benchmarks that need no namespaces.
export class LocalEtcd {
  private constructor(
    readonly endpoints: string[],
    private readonly dir: string,
    private readonly members: Member[],
  ) {}

  // The first member's client URL.
  get endpoint(): string {
    return this.endpoints[0];
  }

  static async start(size = 1): Promise<LocalEtcd> {
    const dir = makeTempDir('etcd');
    const specs = [];
    for (let i = 0; i < size; i++) {
      const [client, peer] = [await freePort(), await freePort()];
      specs.push({
        name: `m${i}`,
        dataDir: `${dir}/m${i}`,
        clientUrl: `http://127.0.0.1:${client}`,
        peerUrl: `http://127.0.0.1:${peer}`,
        clusterToken: 'vxgossip-test',
      });
    }
    const initialCluster = specs.map(({ name, peerUrl }) => ({ name, peerUrl }));
    const members = specs.map((spec): Member => {
      const child = spawn('etcd', etcdMemberArgs({ ...spec, initialCluster }), { stdio: ['ignore', 'ignore', 'pipe'] });
      const member = { child, output: '' };
      child.stderr?.on('data', (chunk: Buffer) => (member.output = (member.output + chunk.toString()).slice(-4000)));
      return member;
    });
    const etcd = new LocalEtcd(
      specs.map((s) => s.clientUrl),
      dir,
      members,
    );
    await etcd.untilHealthy();
    return etcd;
  }

  private async untilHealthy(): Promise<void> {
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      if (this.members.some((m) => m.child.exitCode !== null)) break;
      const healthy = await Promise.all(
        this.endpoints.map((e) =>
          fetch(`${e}/health`).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      );
      if (healthy.every(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const output = this.members.map((m) => m.output).join('\n');
    await this.stop();
    throw new Error(`etcd did not become healthy at ${this.endpoints.join(',')}; its last output:\n${output}`);
  }

  async stop(): Promise<void> {
    for (const { child } of this.members) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    removeTempDir(this.dir);
  }
}
