import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';

// TLS for clients of the gRPC API (ctl, tests): the CA that verifies the server, and our own
// certificate and key when we present one.

function read(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(
      `${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

export interface ClientTls {
  // The CA that signed the server's certificate; TLS is on when it is given.
  ca?: string;
  // Our certificate, for a server that demands one.
  cert?: string;
  key?: string;
}

export function clientCredentials(tls: ClientTls): grpc.ChannelCredentials {
  if (!tls.ca && !tls.cert && !tls.key) return grpc.credentials.createInsecure();
  if (!tls.ca) throw new Error('--tls-ca is needed to verify the server (TLS is on because a certificate was given)');
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new Error('--tls-cert and --tls-key go together');
  return grpc.credentials.createSsl(
    read('--tls-ca', tls.ca),
    tls.key ? read('--tls-key', tls.key) : null,
    tls.cert ? read('--tls-cert', tls.cert) : null,
  );
}
