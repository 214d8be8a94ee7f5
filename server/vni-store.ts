import type { Level } from 'level';
import { SerialQueue } from '../common/serial-queue';
import { Database, RecoveryOptions, WriteOp } from './database';
import type { Logger } from '../common/log';
import type { VniConfig, VniInput } from '../common/vni';
import { checkVniId } from '../common/validation';
import { sortKey } from './pagination';
import type { VniConfigStore } from './vni-config-store';
import { VniMemory } from './vni-memory';
import { planCreate, planUpdate } from './vni-changes';

export { NotFoundError, AlreadyExistsError, StaleRevisionError } from './vni-changes';

const REVISION_KEY = 'meta/revision';
// level's lexicographic order is numeric order.
const vniKey = (id: number) => sortKey('vni', id);

// The VNI configuration, durable in level. Every mutation is written with sync before it resolves,
// so an acknowledged change survives kill -9 and power loss alike. VNIs are few, so all of them are
// also held in memory for reads, and rebuilt from disk whenever the database is reopened.
export class VniStore extends VniMemory implements VniConfigStore {
  // The highest revision a write was attempted with: one that failed is not given to another change.
  private issued = 0;
  private readonly writes = new SerialQueue();

  // Shared with the replica store: one database per server.
  private constructor(readonly db: Database) {
    super();
  }

  static async open(dir: string, log?: Logger, recovery?: Partial<RecoveryOptions>): Promise<VniStore> {
    const store = new VniStore(await Database.open(dir, log, recovery));
    await store.load(store.db.level);
    store.db.onReopen((level) => store.reload(level));
    return store;
  }

  // Read whole, then swapped in: reads never see half of it.
  private async load(level: Level<string, string>): Promise<void> {
    const rev = await level.get(REVISION_KEY);
    const byId = new Map<number, VniConfig>();
    const revoked = new Map<string, number>();
    for await (const [, value] of level.iterator({ gt: 'vni/', lt: 'vni/\xff' })) {
      const vni = JSON.parse(value) as VniConfig;
      // Stored before L3 datapaths existed: the routes it has had are lwt's.
      vni.datapath ??= vni.mode === 'l3' ? 'lwt' : '';
      byId.set(vni.id, vni);
    }
    for await (const [key, value] of level.iterator({ gt: 'revoked/', lt: 'revoked/\xff' }))
      revoked.set(key.slice('revoked/'.length), Number(value));
    this.revision = rev === undefined ? 0 : Number(rev);
    this.byId = byId;
    this.revoked = revoked;
  }

  // After a failed write the database is the truth (LevelDB may or may not have kept that write), and
  // the revision moves past any a failed write was given, durably, so a restart cannot reuse it either.
  private reload(level: Level<string, string>): Promise<void> {
    return this.writes.run(async () => {
      await this.load(level);
      if (this.issued > this.revision) {
        await level.put(REVISION_KEY, String(this.issued), { sync: true });
        this.revision = this.issued;
      }
      this.notify();
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // Certificates of `node` issued until now are refused from this revision on.
  revoke(node: string): Promise<{ revision: number; revokedAtMs: number }> {
    return this.writes.run(async () => {
      const revokedAtMs = Date.now();
      const revision = this.revision + 1;
      await this.commit(revision, [{ type: 'put', key: `revoked/${node}`, value: String(revokedAtMs) }]);
      this.revoked.set(node, revokedAtMs);
      this.notify();
      return { revision, revokedAtMs };
    });
  }

  create(input: VniInput): Promise<VniConfig> {
    return this.writes.run(async () => {
      const fields = planCreate(input, this.list());
      const now = Date.now();
      const vni: VniConfig = { ...fields, revision: this.revision + 1, createTimeMs: now, updateTimeMs: now };
      await this.commit(vni.revision, [{ type: 'put', key: vniKey(vni.id), value: JSON.stringify(vni) }]);
      this.byId.set(vni.id, vni);
      this.notify();
      return vni;
    });
  }

  update(input: VniInput, paths: string[], expectedRevision: number): Promise<VniConfig> {
    return this.writes.run(async () => {
      const current = this.get(checkVniId(input.id));
      const next = planUpdate(current, input, paths, expectedRevision, this.list());
      next.revision = this.revision + 1;
      next.updateTimeMs = Date.now();
      await this.commit(next.revision, [{ type: 'put', key: vniKey(next.id), value: JSON.stringify(next) }]);
      this.byId.set(next.id, next);
      this.notify();
      return next;
    });
  }

  delete(id: number): Promise<number> {
    return this.writes.run(async () => {
      const vni = this.get(id);
      const revision = this.revision + 1;
      await this.commit(revision, [{ type: 'del', key: vniKey(vni.id) }]);
      this.byId.delete(vni.id);
      this.notify();
      return revision;
    });
  }

  private async commit(revision: number, ops: WriteOp[]) {
    this.issued = Math.max(this.issued, revision);
    await this.db.write([...ops, { type: 'put', key: REVISION_KEY, value: String(revision) }]);
    this.revision = revision;
  }
}
