import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { etcdMemberArgs } from '../../lab/etcd-member-args';
import { makeTempDir, removeTempDir } from '../../lab/temp-dir';

export const ETCD = { etcd: 'etcd-server' };

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

// One etcd member on loopback with its own ports and data directory, for tests.
export class LocalEtcd {
  private output = '';

  private constructor(
    readonly endpoint: string,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
  }

  static async start(): Promise<LocalEtcd> {
    const [client, peer] = [await freePort(), await freePort()];
    const dir = makeTempDir('etcd');
    const endpoint = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const member = { name: 'test', dataDir: dir, clientUrl: endpoint, peerUrl, clusterToken: 'vxgossip-test' };
    const child = spawn('etcd', etcdMemberArgs({ ...member, initialCluster: [{ name: member.name, peerUrl }] }), {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const etcd = new LocalEtcd(endpoint, dir, child);
    await etcd.untilHealthy();
    return etcd;
  }

  private async untilHealthy(): Promise<void> {
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      if (this.child.exitCode !== null) break;
      const healthy = await fetch(`${this.endpoint}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (healthy) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.stop();
    throw new Error(`etcd did not become healthy at ${this.endpoint}; its last output:\n${this.output}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await once(this.child, 'exit');
    }
    removeTempDir(this.dir);
  }
}
