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

// Client TLS for the members: etcd's certificate and the CA it requires client certificates from.
export interface LocalEtcdTls {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
}

interface Member {
  child: ChildProcess;
  output: string;
  // etcd said it serves clients (how a member with client TLS is known to be up: /health would need
  // a client certificate).
  serving: boolean;
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

  static async start(size = 1, tls?: LocalEtcdTls): Promise<LocalEtcd> {
    const scheme = tls ? 'https' : 'http';
    const dir = makeTempDir('etcd');
    const specs = [];
    for (let i = 0; i < size; i++) {
      const [client, peer] = [await freePort(), await freePort()];
      specs.push({
        name: `m${i}`,
        dataDir: `${dir}/m${i}`,
        clientUrl: `${scheme}://127.0.0.1:${client}`,
        peerUrl: `http://127.0.0.1:${peer}`,
        clusterToken: 'vxgossip-test',
      });
    }
    const initialCluster = specs.map(({ name, peerUrl }) => ({ name, peerUrl }));
    const members = specs.map((spec): Member => {
      const tlsArgs = tls
        ? [
            '--cert-file',
            tls.certFile,
            '--key-file',
            tls.keyFile,
            '--client-cert-auth',
            '--trusted-ca-file',
            tls.trustedCaFile,
          ]
        : [];
      const args = [...etcdMemberArgs({ ...spec, initialCluster }), ...tlsArgs];
      const child = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const member = { child, output: '', serving: false };
      child.stderr?.on('data', (chunk: Buffer) => {
        member.output = (member.output + chunk.toString()).slice(-4000);
        member.serving ||= member.output.includes('ready to serve client requests');
      });
      return member;
    });
    const etcd = new LocalEtcd(
      specs.map((s) => s.clientUrl),
      dir,
      members,
    );
    await etcd.untilHealthy(tls !== undefined);
    return etcd;
  }

  private async untilHealthy(tls: boolean): Promise<void> {
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      if (this.members.some((m) => m.child.exitCode !== null)) break;
      if (tls && this.members.every((m) => m.serving)) return;
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
