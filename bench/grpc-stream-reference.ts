// The reference for bench/watch-fanout: a bare grpc-js server with the same WatchFdb signature that
// does nothing but write pre-built events to every watcher, as fast as grpc-js takes them. What our
// server delivers is compared against this ceiling of the transport itself. It serves TLS as our server
// does (a P-256 certificate from a throwaway CA, printed with the ready line), so the comparison is
// of the servers, not of TLS against plaintext.
// Usage (started by watch-fanout): node dist/bench/grpc-stream-reference.js --watchers N --events M
//        [--rate R]: R events per second to each watcher instead of all at once
import * as grpc from '@grpc/grpc-js';
import { createPublicKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CertificateAuthority, generateKeyPair, privateKeyToPem } from '../common/pki';
import { v1 } from '../common/proto';
import type { FdbEvent } from '../generated/vxgossip/v1/FdbEvent';
import { numberedMac } from '../lab/numbered-mac';

const { values } = parseArgs({
  options: { watchers: { type: 'string' }, events: { type: 'string' }, rate: { type: 'string', default: '0' } },
});
const WATCHERS = Number(values.watchers);
const EVENTS = Number(values.events);
const RATE = Number(values.rate);
const TICK_MS = 10;

const calls: Array<grpc.ServerWritableStream<unknown, FdbEvent>> = [];
const server = new grpc.Server();
server.addService(v1().EndpointService.service, {
  WatchFdb(call: grpc.ServerWritableStream<unknown, FdbEvent>) {
    calls.push(call);
    if (calls.length === WATCHERS) setTimeout(() => burst(), 500);
  },
});

// The same events our server sends: one ADDED entry per MAC, each with a revision of its own; the
// send time rides in version.counter so watchers can measure latency.
function burst(from = 0): void {
  const until = RATE > 0 ? Math.min(EVENTS, from + (RATE * TICK_MS) / 1000) : EVENTS;
  for (let i = from; i < until; i++) {
    const event: FdbEvent = {
      type: 'EVENT_TYPE_ADDED',
      revision: i + 1,
      entry: {
        vni: 42,
        mac: numberedMac(i),
        vtep: '198.18.0.11',
        node: 'h1',
        kind: 'FDB_ENTRY_KIND_UNICAST',
        mobilitySeq: 0,
        version: { incarnation: 1, counter: Date.now() },
      },
    };
    for (const call of calls) call.write(event);
  }
  if (until < EVENTS) setTimeout(() => burst(until), TICK_MS);
  else for (const call of calls) call.end();
}

async function listen(): Promise<void> {
  const ca = await CertificateAuthority.create('vxgossip bench reference CA');
  const key = generateKeyPair();
  const certPem = await ca.issue({
    role: 'server',
    name: 'reference',
    publicKey: createPublicKey(key),
    ips: ['127.0.0.1'],
    validForMs: 24 * 3600_000,
    // From the next whole second otherwise: watchers connecting at once would find it not yet valid.
    notBefore: new Date(Date.now() - 60_000),
  });
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(certPem), private_key: Buffer.from(privateKeyToPem(key)) }],
    false,
  );
  server.bindAsync('127.0.0.1:0', credentials, (err, port) => {
    if (err) throw err;
    const ready = { msg: 'reference ready', address: `127.0.0.1:${port}`, caPem: ca.certPem };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  });
}

void listen();
