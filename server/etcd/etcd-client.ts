import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';

export interface EtcdClientOptions {
  endpoints: string[];
  // PEM: the CA etcd's certificate is from, and this server's client certificate and key.
  tls?: { caPem: string; certPem?: string; keyPem?: string };
}

// An etcd client that never repeats a call on its own: etcd3's default policy retries a failed call
// three times, which can turn "committed, reply lost" into a refusal of the very change that was
// kept. A failure reaches the caller as UNAVAILABLE ("may or may not have been kept") instead. Each
// endpoint keeps etcd3's circuit breaker, and watches still reconnect with backoff.
export function openEtcdClient(options: EtcdClientOptions): Etcd3 {
  const { tls } = options;
  return new Etcd3({
    hosts: options.endpoints,
    faultHandling: { global: noop },
    ...(tls
      ? {
          credentials: {
            rootCertificate: Buffer.from(tls.caPem),
            ...(tls.certPem && tls.keyPem
              ? { certChain: Buffer.from(tls.certPem), privateKey: Buffer.from(tls.keyPem) }
              : {}),
          },
        }
      : {}),
  });
}
