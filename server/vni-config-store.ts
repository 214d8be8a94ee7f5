import type { VniConfig, VniInput } from '../common/vni';
import type { Revocation } from '../common/trust/revocations';

export type VniConfigListener = (revision: number, vnis: VniConfig[], revocations: Revocation[]) => void;

// Where the VNI configuration (and the revocations signed with it) is kept: level on one server,
// etcd for several replicas. Reads are served from memory; a write resolves once it is durable, and
// raises NotFoundError, AlreadyExistsError, StaleRevisionError or ValidationError (see vni-changes)
// for a change the configuration refuses. Revisions increase with every change.
export interface VniConfigStore {
  currentRevision(): number;
  list(): VniConfig[];
  revocations(): Revocation[];
  get(id: number): VniConfig;
  onChange(listener: VniConfigListener): () => void;
  create(input: VniInput): Promise<VniConfig>;
  // expectedRevision 0 updates whatever the VNI's revision; any other is compared and swapped.
  update(input: VniInput, paths: string[], expectedRevision: number): Promise<VniConfig>;
  delete(id: number): Promise<number>;
  // Certificates of `node` issued until now are refused from this revision on.
  revoke(node: string): Promise<{ revision: number; revokedAtMs: number }>;
  close(): Promise<void>;
}
