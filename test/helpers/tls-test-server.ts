import { createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CertificateAuthority, generateKeyPair, privateKeyToPem } from '../../common/pki';

export type Services = Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>;

// A TLS gRPC server on loopback with the handlers a test needs, its CA written to DIR/ca.crt, and
// ctl's flags to reach it; stop it with forceShutdown().
export async function startTlsTestServer(
  ca: CertificateAuthority,
  dir: string,
  services: Services,
  requireClientCert = false,
): Promise<{ server: grpc.Server; ctlArgs: string[] }> {
  const key = generateKeyPair();
  const cert = await ca.issue({
    role: 'server',
    name: 'server',
    publicKey: createPublicKey(key),
    ips: ['127.0.0.1'],
    notBefore: new Date(Date.now() - 60_000),
    validForMs: 3600_000,
  });
  fs.writeFileSync(path.join(dir, 'ca.crt'), ca.certPem);
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
  return {
    server,
    ctlArgs: ['--server', `127.0.0.1:${port}`, '--tls-ca', path.join(dir, 'ca.crt'), '--timeout', '10s'],
  };
}
