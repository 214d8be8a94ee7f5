import type { Logger } from '../../common/log';
import type { KernelConflict } from '../kernel/foreign-entries';

const keyOf = (c: KernelConflict) => `${c.kind}|${c.vni}|${c.address}|${c.found}`;

// A conflict lasts as long as the entry that is not ours: each is logged when it appears and when it
// ends, never at every pass.
export class ConflictLog {
  private known = new Map<string, KernelConflict>();

  constructor(private readonly log: Logger) {}

  update(conflicts: KernelConflict[]): void {
    const now = new Map(conflicts.map((c) => [keyOf(c), c]));
    for (const [key, c] of now) {
      if (this.known.has(key)) continue;
      const remove = c.kind === 'route' ? `ip route del ${c.address}` : `ip neigh del ${c.address} dev ...`;
      this.log.warn('kernel entry not ours: left in place, not programmed', {
        ...c,
        fix: `vxgossip never replaces it; remove it (${remove}) to let vxgossip program this endpoint`,
      });
    }
    for (const [key, c] of this.known) {
      if (!now.has(key)) this.log.info('kernel conflict over: nothing of ours is held back there now', { ...c });
    }
    this.known = now;
  }
}
