import { createHash, type KeyObject } from 'node:crypto';
import { messageCodec } from '../../common/proto-codec';
import { canonicalIp, signPayload, verifyPayload } from '../../common/pki';
import { recordFromProto, recordToProto } from '../../common/record-proto';
import type { StateRecord } from '../../common/fdb-state/record';
import type { RecordBatch, RecordBatch__Output } from '../../generated/vxgossip/v1/RecordBatch';
import type { SignedRecords, SignedRecords__Output } from '../../generated/vxgossip/v1/SignedRecords';
import type { DropReason } from './drop-reasons';
import type { PeerCertificates } from './peer-certificates';

const batchCodec = messageCodec<RecordBatch, RecordBatch__Output>('vxgossip.v1.RecordBatch');
const RECORDS_DOMAIN = 'vxgossip/records/v1';
// More than any honest owner puts in one batch (a reply chunk); bounds decoding work per batch.
const MAX_BATCH_BYTES = 1 << 20;
const MAX_RECORDS_PER_BATCH = 4096;

// What this node signs its own records with.
export interface RecordSigner {
  name: string;
  key: KeyObject;
  // SHA-256 (hex) of the certificate that names the key.
  fingerprint: string;
}

export function sealBatch(records: StateRecord[], signer: RecordSigner): SignedRecords {
  const batch = batchCodec.encode({ records: records.map(recordToProto) });
  return {
    owner: signer.name,
    batch,
    signature: signPayload(signer.key, RECORDS_DOMAIN, batch),
    certificateSha256: Buffer.from(signer.fingerprint, 'hex'),
  };
}

// Our records in signed batches of at most `maxBytes` of records each (a datagram's worth, or a
// reply chunk's): the receiver verifies one signature per batch, not per record.
export function sealInBatches(records: StateRecord[], signer: RecordSigner, maxBytes: number): SignedRecords[] {
  const out: SignedRecords[] = [];
  let chunk: StateRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = batchCodec.encode({ records: [recordToProto(r)] }).length;
    if (chunk.length > 0 && (size + bytes > maxBytes || chunk.length >= MAX_RECORDS_PER_BATCH)) {
      out.push(sealBatch(chunk, signer));
      chunk = [];
      size = 0;
    }
    chunk.push(r);
    size += bytes;
  }
  if (chunk.length > 0) out.push(sealBatch(chunk, signer));
  return out;
}

export type Opened = { records: StateRecord[] } | { drop: DropReason; detail: string };

// A batch is accepted only whole: signed by a current certificate of its owner from the CA, every
// record the owner's and naming a VTEP in that certificate. Its content is decoded and checked before
// the signature, which is the expensive part; none of it is used unless the signature verifies.
export class BatchOpener {
  // Batches verified already (gossip delivers each several times): hash of signature and content.
  private readonly verified = new Set<string>();

  constructor(
    private readonly certificates: PeerCertificates,
    private readonly isMember: (owner: string) => boolean,
    // Whether the store would take a record: a batch with nothing new (gossip delivers each batch
    // several times) needs no signature check, since nothing of it is kept, relayed or programmed.
    private readonly isNews: (record: StateRecord) => boolean,
    private readonly cacheSize = 8192,
  ) {}

  open(envelope: SignedRecords__Output): Opened {
    const { owner, batch, signature } = envelope;
    if (batch.length === 0 || batch.length > MAX_BATCH_BYTES) return { drop: 'malformed', detail: 'batch size' };
    if (!this.isMember(owner)) return { drop: 'not-a-member', detail: `${owner} is not a gossip member` };
    const identity = this.certificates.lookup(owner, Buffer.from(envelope.certificateSha256).toString('hex'));
    if (typeof identity === 'string') return { drop: identity, detail: `certificate of ${owner}` };
    let records: StateRecord[];
    try {
      const decoded = batchCodec.decode(batch).records;
      if (decoded.length > MAX_RECORDS_PER_BATCH) return { drop: 'malformed', detail: 'too many records' };
      records = decoded.map(recordFromProto);
    } catch (err) {
      return { drop: 'malformed', detail: (err as Error).message };
    }
    for (const r of records) {
      if (r.owner !== owner) return { drop: 'wrong-owner', detail: `${owner} signed a record of ${r.owner}` };
      if (!identity.ips.includes(canonicalIp(r.body.vtep)))
        return { drop: 'vtep-not-certified', detail: `${owner} is not certified for VTEP ${r.body.vtep}` };
    }
    if (!records.some(this.isNews)) return { records: [] };
    const digest = createHash('sha256').update(signature).update(batch).digest('base64');
    if (!this.verified.has(digest)) {
      if (!verifyPayload(identity.publicKey, RECORDS_DOMAIN, batch, signature))
        return { drop: 'bad-signature', detail: `batch of ${owner}` };
      this.remember(digest);
    }
    return { records };
  }

  private remember(digest: string): void {
    if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.values().next().value!);
    this.verified.add(digest);
  }
}
