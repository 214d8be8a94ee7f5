import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CertificateAuthority, generateKeyPair, privateKeyToPem } from '../../common/pki';
import { repoRoot } from '../../common/paths';

export interface CtlRun {
  status: number;
  stdout: string;
  stderr: string;
}

// ctl as a child process: the server answering it runs in this one, so the call must not block.
export function ctlAsync(args: string[]): Promise<CtlRun> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [path.join(repoRoot, 'bin', 'ctl'), ...args],
      { env: { ...process.env, VXGOSSIP_SERVER: '', VXGOSSIP_CREDENTIALS: '', VXGOSSIP_TOKEN: '' }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ status: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
}

export type Services = Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>;

// TLS servers on loopback with the handlers a test gives, in a directory holding their CA.
export class CtlTestServers {
  // Holds ca.crt; a test may keep files of its own here (removed by stop()).
  dir = '';
  private ca?: CertificateAuthority;
  private readonly servers: grpc.Server[] = [];

  async start(): Promise<void> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctl-'));
    this.ca = await CertificateAuthority.create('test CA');
    fs.writeFileSync(path.join(this.dir, 'ca.crt'), this.ca.certPem);
  }

  // A server with these services; resolves to ctl's flags that reach it.
  async serve(services: Services, requireClientCert = false): Promise<string[]> {
    const { address } = await this.serveAt(services, requireClientCert);
    return this.flagsFor([address]);
  }

  // ctl's flags that reach these servers (a server's replicas).
  flagsFor(addresses: string[]): string[] {
    return ['--server', addresses.join(','), '--tls-ca', path.join(this.dir, 'ca.crt'), '--timeout', '10s'];
  }

  // A server with these services, its address, and the server (a test may stop it: a replica gone).
  async serveAt(services: Services, requireClientCert = false): Promise<{ address: string; server: grpc.Server }> {
    const ca = this.ca;
    if (!ca) throw new Error('CtlTestServers.start() first');
    const key = generateKeyPair();
    const cert = await ca.issue({
      role: 'server',
      name: 'server',
      publicKey: createPublicKey(key),
      ips: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 60_000),
      validForMs: 3600_000,
    });
    const server = new grpc.Server();
    for (const [definition, handlers] of services) server.addService(definition, handlers);
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(ca.certPem),
      [{ private_key: Buffer.from(privateKeyToPem(key)), cert_chain: Buffer.from(cert) }],
      requireClientCert,
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.servers.push(server);
    return { address: `127.0.0.1:${port}`, server };
  }

  stop(): void {
    for (const s of this.servers) s.forceShutdown();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
