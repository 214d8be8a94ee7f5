import { createPublicKey, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GossipMessage } from '../generated/vxgossip/v1/GossipMessage';
import type { Record } from '../generated/vxgossip/v1/Record';
import type { RecordBatch, RecordBatch__Output } from '../generated/vxgossip/v1/RecordBatch';
import type { VniConfig, VniConfig__Output } from '../generated/vxgossip/v1/VniConfig';
import { messageCodec } from '../common/proto-codec';
import { CertificateAuthority, TrustAnchor, generateKeyPair, loadPrivateKey, signPayload } from '../common/pki';

const batchCodec = messageCodec<RecordBatch, RecordBatch__Output>('vxgossip.v1.RecordBatch');
const configCodec = messageCodec<VniConfig, VniConfig__Output>('vxgossip.v1.VniConfig');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

// The gossip payloads of the attacks a rogue member replays: plain objects (they travel to the rogue
// process as JSON) that the rogue encodes with the agents' own codec. Every number stays within
// Number.MAX_SAFE_INTEGER, so JSON carries it exactly.

export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

// A configuration no server wrote: no VNI at all, at a revision far ahead of any real one, with a
// signature the attacker made up. Bytes travel as base64 (JSON to the rogue; protobuf takes it).
export function configWipe(revision = 1e15): GossipMessage {
  const config = b64(configCodec.encode({ revision, vnis: [], revocations: [] }));
  return { config: { config, signature: b64(randomBytes(64)), signer: '' } };
}

// What an attacker signs with: its own CA and a certificate naming whomever it pretends to be.
export interface RogueSigner {
  owner: string;
  sign: (batch: Buffer) => Buffer;
  certificateDer: Buffer;
  fingerprint: string;
}

export async function rogueSigner(owner: string, vtep: string): Promise<RogueSigner> {
  const ca = await CertificateAuthority.create('rogue CA');
  const key = generateKeyPair();
  const pem = await ca.issue({
    role: 'node',
    name: owner,
    ips: [vtep],
    publicKey: createPublicKey(key),
    validForMs: 86_400_000,
    notBefore: new Date(Date.now() - 60_000),
  });
  const identity = new TrustAnchor(ca.certPem).verify(pem);
  return {
    owner,
    sign: (batch) => signPayload(key, 'vxgossip/records/v1', batch),
    certificateDer: identity.der,
    fingerprint: identity.fingerprint,
  };
}

export interface ForgedEndpoint {
  owner: string;
  vtep: string;
  vni: number;
  mac: string;
  ips?: string[];
  mobilitySeq?: number;
  tombstone?: boolean;
  // Defaults to the first version any owner issues: a claim needs no inflated version to be news.
  incarnation?: number;
  counter?: number;
}

export function endpointRecord(e: ForgedEndpoint): Record {
  return {
    owner: e.owner,
    version: { incarnation: e.incarnation ?? 1, counter: e.counter ?? 1 },
    tombstone: e.tombstone ?? false,
    originTimeMs: Date.now(),
    endpoint: {
      vni: e.vni,
      mac: e.mac,
      ips: e.ips ?? [],
      node: e.owner,
      vtep: e.vtep,
      mobilitySeq: e.mobilitySeq ?? 0,
      origin: 'ENDPOINT_ORIGIN_API',
    },
  };
}

export function membershipRecord(
  owner: string,
  vtep: string,
  vni: number,
  version: { incarnation: number; counter: number } = { incarnation: 1, counter: 1 },
): Record {
  return { owner, version, tombstone: false, originTimeMs: Date.now(), membership: { vni, node: owner, vtep } };
}

function bundle(list: Record[], signer: RogueSigner) {
  const batch = batchCodec.encode({ records: list });
  return {
    batches: [
      {
        owner: signer.owner,
        batch: b64(batch),
        signature: b64(signer.sign(batch)),
        certificateSha256: b64(Buffer.from(signer.fingerprint, 'hex')),
      },
    ],
    certificates: [b64(signer.certificateDer)],
  };
}

// Records signed as the attacker's signer, with its certificate alongside.
export function records(list: Record[], signer: RogueSigner): GossipMessage {
  return { records: bundle(list, signer) };
}

// The same records as a join snapshot (what a member answers a push/pull with).
export function snapshot(list: Record[], signer: RogueSigner): GossipMessage {
  return {
    snapshot: { digest: { node: '', configRevision: 0, owners: [] }, bundle: bundle(list, signer) },
  };
}

// Records for another owner at the highest version a peer accepts: a tombstone of one of its
// endpoints and a live endpoint it never had. Its refutation would need a version past the bound.
export function forgedOwnerRecords(
  owner: string,
  vtep: string,
  vni: number,
  victim: { mac: string; ips: string[] },
  invented: string,
): Record[] {
  const top = { incarnation: MAX_VERSION, counter: MAX_VERSION };
  return [
    endpointRecord({ owner, vtep, vni, ...victim, tombstone: true, ...top }),
    endpointRecord({ owner, vtep, vni, mac: invented, ...top }),
  ];
}

// Another host's MAC claimed for the rogue's VTEP with a mobility sequence no counter-claim can beat.
export function macClaim(owner: string, vtep: string, vni: number, mac: string, ips: string[] = []): Record {
  return endpointRecord({ owner, vtep, vni, mac, ips, mobilitySeq: MAX_VERSION });
}

// A compromised host's key and certificate, as enrolment left them in its data dir: the attacker
// signs exactly as that host would.
export function stolenSigner(identityDir: string, owner: string): RogueSigner {
  const read = (file: string) => fs.readFileSync(path.join(identityDir, file), 'utf8');
  const key = loadPrivateKey(read('node.key'));
  const identity = new TrustAnchor(read('ca.crt')).verify(read('node.crt'));
  return {
    owner,
    sign: (batch) => signPayload(key, 'vxgossip/records/v1', batch),
    certificateDer: identity.der,
    fingerprint: identity.fingerprint,
  };
}

// A batch the owner signed, with its content changed after signing (a relay that rewrites).
export function tampered(original: Record[], altered: Record[], signer: RogueSigner): GossipMessage {
  const signedBatch = bundle(original, signer);
  signedBatch.batches[0].batch = b64(batchCodec.encode({ records: altered }));
  return { records: signedBatch };
}
