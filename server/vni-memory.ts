import type { VniConfig } from '../common/vni';
import type { Revocation } from '../common/trust/revocations';
import type { VniConfigListener } from './vni-config-store';
import { findVni, sortedRevocations, sortedVnis } from './vni-changes';

// What every VNI configuration store holds in memory and serves reads from, whatever keeps it durable:
// the VNIs, the revoked nodes, the revision, and who listens for changes.
export abstract class VniMemory {
  protected byId = new Map<number, VniConfig>();
  // Revoked nodes travel in the signed configuration, so they share its revision and durability.
  protected revoked = new Map<string, number>();
  protected revision = 0;
  private readonly listeners = new Set<VniConfigListener>();

  currentRevision(): number {
    return this.revision;
  }

  list(): VniConfig[] {
    return sortedVnis(this.byId);
  }

  revocations(): Revocation[] {
    return sortedRevocations(this.revoked);
  }

  get(id: number): VniConfig {
    return findVni(this.byId, id);
  }

  onChange(listener: VniConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected notify(): void {
    const vnis = this.list();
    const revocations = this.revocations();
    for (const listener of this.listeners) listener(this.revision, vnis, revocations);
  }
}
