import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';

// TLS for the gRPC API and the agent stream. Without certificates everything is plaintext (for a
// lab); with them the server presents its certificate, and with a client CA it demands one (mTLS).

function read(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(
      `${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

export interface ServerTls {
  cert?: string;
  key?: string;
  // Clients must present a certificate signed by this CA.
  clientCa?: string;
}

export function serverCredentials(tls: ServerTls): grpc.ServerCredentials {
  if (!tls.cert && !tls.key && !tls.clientCa) return grpc.ServerCredentials.createInsecure();
  if (!tls.cert || !tls.key) throw new Error('--tls-cert and --tls-key go together');
  const ca = tls.clientCa ? read('--tls-client-ca', tls.clientCa) : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: read('--tls-cert', tls.cert), private_key: read('--tls-key', tls.key) }],
    ca !== null,
  );
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
