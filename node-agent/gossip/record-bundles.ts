import type { StateRecord } from '../../common/fdb-state/record';
import type { RecordStore } from '../state/record-store';
import type { RecordBundle } from '../../generated/vxgossip/v1/RecordBundle';
import type { SignedRecords } from '../../generated/vxgossip/v1/SignedRecords';
import { RecordSigner, sealInBatches } from '../trust/record-batches';
import type { PeerCertificates } from '../trust/peer-certificates';

// Records of ours per signed batch in a reply (a stream, not a datagram).
const REPLY_BATCH_BYTES = 64 * 1024;
// Bytes of signed batches per reliable message.
const REPLY_MESSAGE_BYTES = 512 * 1024;

export interface LocalSigner extends RecordSigner {
  certificateDer: Buffer;
}

// What we serve of the store: our own records signed afresh (we are their owner), every other
// owner's exactly as that owner signed them, with the certificates that verify them.
export class RecordBundles {
  // The signed batch each peer record arrived in; a replaced record lets go of its batch.
  private readonly batchOf = new WeakMap<StateRecord, SignedRecords>();

  constructor(
    private readonly store: RecordStore,
    private readonly signer: () => LocalSigner,
    private readonly certificates: PeerCertificates,
  ) {}

  remember(record: StateRecord, batch: SignedRecords): void {
    this.batchOf.set(record, batch);
  }

  // Bundles of at most REPLY_MESSAGE_BYTES of batches each, for these owners.
  of(owners: string[]): RecordBundle[] {
    const batches: SignedRecords[] = [];
    for (const owner of owners) batches.push(...this.batchesOf(owner));
    const bundles: RecordBundle[] = [];
    let current: SignedRecords[] = [];
    let size = 0;
    const flush = () => {
      if (current.length > 0) bundles.push(this.withCertificates(current));
      current = [];
      size = 0;
    };
    for (const b of batches) {
      if (size + b.batch!.length > REPLY_MESSAGE_BYTES) flush();
      current.push(b);
      size += b.batch!.length;
    }
    flush();
    return bundles;
  }

  private batchesOf(owner: string): SignedRecords[] {
    const records = this.store.recordsOf(owner);
    if (owner === this.store.node) return sealInBatches(records, this.signer(), REPLY_BATCH_BYTES);
    const distinct = new Set<SignedRecords>();
    for (const r of records) {
      const batch = this.batchOf.get(r);
      if (batch) distinct.add(batch);
    }
    return [...distinct];
  }

  private withCertificates(batches: SignedRecords[]): RecordBundle {
    const own = this.signer();
    const certificates = new Map<string, Buffer>();
    for (const b of batches) {
      const fingerprint = Buffer.from(b.certificateSha256 as Uint8Array).toString('hex');
      const der = fingerprint === own.fingerprint ? own.certificateDer : this.certificates.der(fingerprint);
      if (der) certificates.set(fingerprint, der);
    }
    return { batches, certificates: [...certificates.values()] };
  }
}
