// What signing costs the gossip FDB, in one process on one core: signatures verified per second
// (per batch and per record) next to bare ECDSA P-256 verifications by Node's crypto, and a join
// snapshot of N signed records from 19 owners verified and merged into an agent's store, next to the
// same records merged unverified (what the store costs without signatures).
// Usage: node dist/bench/record-signing.js [N=10000]
import { createPublicKey, sign, verify } from 'node:crypto';
import { createLogger } from '../common/log';
import { CertificateAuthority, TrustAnchor, generateKeyPair } from '../common/pki';
import { messageCodec } from '../common/proto-codec';
import { recordFromProto, recordToProto } from '../common/record-proto';
import type { StateRecord } from '../common/fdb-state/record';
import { numberedMac } from '../lab/numbered-mac';
import type { GossipCluster, Peer } from '../node-agent/gossip/cluster';
import type { LocalSigner } from '../node-agent/gossip/record-bundles';
import { RecordSync } from '../node-agent/gossip/record-sync';
import { RecordStore } from '../node-agent/state/record-store';
import { DropCounter } from '../node-agent/trust/drop-reasons';
import { PeerCertificates } from '../node-agent/trust/peer-certificates';
import { sealInBatches } from '../node-agent/trust/record-batches';
import type { GossipMessage, GossipMessage__Output } from '../generated/vxgossip/v1/GossipMessage';

const total = Number(process.argv[2] ?? 10_000);
const OWNERS = 19;
const silent = createLogger({ component: 'bench', level: 'error', write: () => undefined });
const codec = messageCodec<GossipMessage, GossipMessage__Output>('vxgossip.v1.GossipMessage');
const vtepOf = (i: number) => `198.18.0.${11 + i}`;

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Membership only: the records' owners are members, nothing is ever sent.
function membersOnly(names: string[]): GossipCluster {
  const peers = names.map((name): Peer => ({ name, address: `${name}:7946`, state: 'alive', meta: Buffer.alloc(0) }));
  return {
    localName: 'joiner',
    localAddress: 'joiner:7946',
    peers: () => peers,
    isMember: (name) => names.includes(name),
    broadcast: () => undefined,
    queuedBroadcasts: () => 0,
    sendBestEffort: async () => undefined,
    sendReliable: async () => undefined,
    updateMeta: async () => undefined,
    join: async () => 0,
    leave: async () => undefined,
    shutdown: async () => undefined,
  };
}

async function signers(anchor: TrustAnchor, ca: CertificateAuthority): Promise<LocalSigner[]> {
  const out: LocalSigner[] = [];
  for (let i = 0; i < OWNERS; i++) {
    const key = generateKeyPair();
    const pem = await ca.issue({
      role: 'node',
      name: `h${i}`,
      ips: [vtepOf(i)],
      publicKey: createPublicKey(key),
      validForMs: 3600_000,
      notBefore: new Date(Date.now() - 60_000),
    });
    const identity = anchor.verify(pem);
    out.push({ name: `h${i}`, key, fingerprint: identity.fingerprint, certificateDer: identity.der });
  }
  return out;
}

function ownerRecords(signer: LocalSigner, owner: number, count: number): StateRecord[] {
  const store = new RecordStore({ node: signer.name, incarnation: 1, tombstoneTtlMs: 60_000 });
  store.issue({ kind: 'membership', vni: 42, vtep: vtepOf(owner) });
  for (let j = 0; j < count; j++)
    store.issue({
      kind: 'endpoint',
      vni: 42,
      mac: numberedMac(owner * 100_000 + j, 0x42),
      ips: [`10.${owner}.${j >> 8}.${j & 255}/32`],
      vtep: vtepOf(owner),
      mobilitySeq: 0,
      origin: 'api',
    });
  return store.owned();
}

function joiner(anchor: TrustAnchor, names: string[]) {
  const store = new RecordStore({ node: 'joiner', incarnation: 1, tombstoneTtlMs: 60_000 });
  const drops = new DropCounter();
  const sync = new RecordSync(
    store,
    { revision: () => 0, signed: () => undefined, adopt: () => 'stale' },
    { signer: () => ({}) as LocalSigner, certificates: new PeerCertificates(anchor), drops },
    silent,
  );
  sync.attach(membersOnly([...names, 'joiner']));
  return { store, sync, drops };
}

async function main(): Promise<void> {
  const ca = await CertificateAuthority.create('bench CA');
  const anchor = new TrustAnchor(ca.certPem);
  const owners = await signers(anchor, ca);
  const per = Math.ceil(total / OWNERS) - 1;
  const records = owners.map((s, i) => ownerRecords(s, i, per));
  const count = records.reduce((n, r) => n + r.length, 0);

  // A join snapshot as a seed agent sends it: every owner's records in the batches it signed.
  const batches = owners.flatMap((s, i) => sealInBatches(records[i], s, 64 * 1024));
  const snapshot = codec.encode({
    snapshot: {
      digest: { node: 'seed', configRevision: 0, owners: [] },
      bundle: { batches, certificates: owners.map((s) => s.certificateDer) },
    },
  });
  const verified = joiner(
    anchor,
    owners.map((s) => s.name),
  );
  const signedSeconds = seconds(() => verified.sync.mergeRemoteState(snapshot));
  const taken = [...verified.store.live()].length;
  if (taken !== count)
    throw new Error(
      `the joiner took ${taken} of ${count} records (drops: ${JSON.stringify(verified.drops.entries())})`,
    );

  // Reference: the same records decoded and merged without any signature.
  const plain = new RecordStore({ node: 'joiner', incarnation: 1, tombstoneTtlMs: 60_000 });
  const unsignedBytes = messageCodec<object, { records: Parameters<typeof recordFromProto>[0][] }>(
    'vxgossip.v1.RecordBatch',
  );
  const encoded = records.map((r) => unsignedBytes.encode({ records: r.map(recordToProto) }));
  const unsignedSeconds = seconds(() => {
    for (const bytes of encoded) for (const p of unsignedBytes.decode(bytes).records) plain.merge(recordFromProto(p));
  });

  // Datagram-sized batches (what attach -> programmed rides on), verified one after another.
  const datagrams = sealInBatches(records[0].slice(0, 2000), owners[0], 1050);
  const one = joiner(anchor, [owners[0].name]);
  one.sync.onMessage(codec.encode({ records: { batches: [], certificates: [owners[0].certificateDer] } }));
  const encodedDatagrams = datagrams.map((b) => codec.encode({ records: { batches: [b] } }));
  const datagramSeconds = seconds(() => {
    for (const d of encodedDatagrams) one.sync.onMessage(d);
  });
  const perDatagram = Math.round(records[0].slice(0, 2000).length / datagrams.length);

  // Reference: bare ECDSA P-256 verifications of a datagram-sized payload.
  const key = generateKeyPair();
  const payload = Buffer.alloc(1050, 7);
  const signature = sign('sha256', payload, { key, dsaEncoding: 'ieee-p1363' });
  const publicKey = createPublicKey(key);
  const n = 5000;
  const rawSeconds = seconds(() => {
    for (let i = 0; i < n; i++) verify('sha256', payload, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  });

  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  console.log(`signed gossip on one core (${count} records from ${OWNERS} owners)`);
  console.log(
    `  join snapshot, signed:   ${ms(signedSeconds)} verified and merged (${batches.length} batches, ${(snapshot.length / 1e6).toFixed(1)} MB)`,
  );
  console.log(`  join snapshot, unsigned: ${ms(unsignedSeconds)} decoded and merged (reference)`);
  console.log(
    `  datagram batches:        ${Math.round(datagrams.length / datagramSeconds)} verified/s (${perDatagram} records each: ${Math.round((datagrams.length * perDatagram) / datagramSeconds)} records/s)`,
  );
  console.log(`  bare ECDSA P-256:        ${Math.round(n / rawSeconds)} verifications/s (reference, Node crypto)`);
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
