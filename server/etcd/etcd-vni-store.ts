import type { Etcd3, IKeyValue } from 'etcd3';
import { SerialQueue } from '../../common/serial-queue';
import type { Logger } from '../../common/log';
import type { VniConfig, VniInput } from '../../common/vni';
import { checkVniId } from '../../common/validation';
import { StorageUnavailableError } from '../database';
import { unavailableOnFailure } from './etcd-errors';
import { PrefixFollower } from './prefix-follower';
import { readPrefix } from './read-prefix';
import type { WriteGate } from './etcd-health';
import { sortKey } from '../pagination';
import type { VniConfigStore } from '../vni-config-store';
import { VniMemory } from '../vni-memory';
import { planCreate, planUpdate } from '../vni-changes';

// A change planned against one snapshot of the configuration: the keys to write, and how memory
// changes once etcd committed them at `revision` (the answer to the caller).
interface Plan<T> {
  puts: Array<[key: string, value: string]>;
  deletes: string[];
  apply: (revision: number) => T;
}

// Another replica changed the configuration between our snapshot and our commit: re-read and re-plan.
// A change that loses this many races in a row is refused (retryable) rather than retried forever.
const MAX_ATTEMPTS = 5;
const COMMIT_DEADLINE_MS = 5_000;

// The VNI configuration in etcd, for several server replicas. Every key lives under `<prefix>config/`,
// so one range read is one consistent snapshot. Every change is a transaction guarded by the
// mod_revision of `config/revision`, which every change also writes: it commits only if no replica
// changed the configuration since this one validated against it. So a revision is etcd's revision of
// the committing transaction (unique and ordered across replicas), a VNI's revision is its key's
// mod_revision, and expected_revision is a compare-and-swap. Other replicas' changes arrive by a watch.
export class EtcdVniStore extends VniMemory implements VniConfigStore {
  private readonly writes = new SerialQueue();
  private follower: PrefixFollower | undefined;
  private gate: WriteGate | undefined;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly root: string,
    private readonly log?: Logger,
  ) {
    super();
  }

  // `prefix` separates clusters sharing one etcd. The client stays the caller's to close.
  static async open(etcd: Etcd3, prefix: string, log?: Logger, gate?: WriteGate): Promise<EtcdVniStore> {
    const store = new EtcdVniStore(etcd, `${prefix}config/`, log);
    store.gate = gate;
    // The follower watches from the snapshot's revision, not the configuration's: that one may be long
    // compacted away. Any event re-reads the whole configuration (a few keys), under the write queue.
    store.follower = await unavailableOnFailure('read the VNI configuration', () =>
      PrefixFollower.start(
        etcd,
        store.root,
        'the VNI configuration',
        {
          snapshot: (kvs) => store.takeSnapshot(kvs),
          changes: () => void store.refresh(),
        },
        log,
      ),
    );
    return store;
  }

  get following(): PrefixFollower {
    return this.follower!;
  }

  private get revisionKey(): string {
    return `${this.root}revision`;
  }

  private vniKey(id: number): string {
    return `${this.root}${sortKey('vni', id)}`;
  }

  private revokedKey(node: string): string {
    return `${this.root}revoked/${node}`;
  }

  private async load(): Promise<void> {
    this.read((await readPrefix(this.etcd, this.root)).kvs);
  }

  // A snapshot the follower read anew (its watch was lost): listeners hear of what changed meanwhile.
  private takeSnapshot(kvs: IKeyValue[]): void {
    const before = this.revision;
    this.read(kvs);
    if (before !== 0 && this.revision !== before) this.notify();
  }

  private read(kvs: IKeyValue[]): void {
    const byId = new Map<number, VniConfig>();
    const revoked = new Map<string, number>();
    let revision = 0;
    for (const kv of kvs) {
      const key = kv.key.toString().slice(this.root.length);
      if (key === 'revision') revision = Number(kv.mod_revision);
      else if (key.startsWith('vni/')) {
        const vni = storedVni(kv);
        byId.set(vni.id, vni);
      } else if (key.startsWith('revoked/')) revoked.set(key.slice('revoked/'.length), Number(kv.value.toString()));
    }
    this.byId = byId;
    this.revoked = revoked;
    this.revision = revision;
  }

  // Another replica's change (or the echo of our own): re-read, and tell listeners if it moved.
  private refresh(): Promise<void> {
    return this.writes.run(async () => {
      const before = this.revision;
      try {
        await this.load();
      } catch (err) {
        this.log?.warn('cannot re-read the VNI configuration after a change in etcd', {
          error: (err as Error).message,
        });
        return;
      }
      if (this.revision !== before) this.notify();
    });
  }

  close(): Promise<void> {
    return this.follower?.stop() ?? Promise.resolve();
  }

  create(input: VniInput): Promise<VniConfig> {
    return this.change(() => {
      const fields = planCreate(input, this.list());
      const now = Date.now();
      const stored = { ...fields, createTimeMs: now, updateTimeMs: now };
      return {
        puts: [[this.vniKey(fields.id), JSON.stringify(stored)]],
        deletes: [],
        apply: (revision) => this.keep({ ...stored, revision }),
      };
    });
  }

  update(input: VniInput, paths: string[], expectedRevision: number): Promise<VniConfig> {
    return this.change(() => {
      const current = this.get(checkVniId(input.id));
      const { revision: _, ...next } = planUpdate(current, input, paths, expectedRevision, this.list());
      const stored = { ...next, updateTimeMs: Date.now() };
      return {
        puts: [[this.vniKey(next.id), JSON.stringify(stored)]],
        deletes: [],
        apply: (revision) => this.keep({ ...stored, revision }),
      };
    });
  }

  delete(id: number): Promise<number> {
    return this.change(() => {
      const vni = this.get(id);
      return {
        puts: [],
        deletes: [this.vniKey(vni.id)],
        apply: (revision) => {
          this.byId.delete(vni.id);
          return revision;
        },
      };
    });
  }

  revoke(node: string): Promise<{ revision: number; revokedAtMs: number }> {
    return this.change(() => {
      const revokedAtMs = Date.now();
      return {
        puts: [[this.revokedKey(node), String(revokedAtMs)]],
        deletes: [],
        apply: (revision) => {
          this.revoked.set(node, revokedAtMs);
          return { revision, revokedAtMs };
        },
      };
    });
  }

  // Plans against the snapshot held, commits only if the configuration is still at that snapshot's
  // revision, and otherwise re-reads and plans again (the change may now be refused: a CAS lost).
  private change<T>(plan: () => Plan<T>): Promise<T> {
    return this.writes.run(async () => {
      this.gate?.check();
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const { puts, deletes, apply } = plan();
        const txn = await unavailableOnFailure('commit the change to etcd', () =>
          this.etcd
            .if(this.revisionKey, 'Mod', '==', this.revision)
            .then(
              ...puts.map(([key, value]) => this.etcd.put(key).value(value)),
              ...deletes.map((key) => this.etcd.delete().key(key)),
              this.etcd.put(this.revisionKey).value(''),
            )
            .options({ deadline: Date.now() + COMMIT_DEADLINE_MS })
            .commit(),
        );
        if (txn.succeeded) {
          // The guard held, so snapshot plus this change is exactly etcd's configuration at the
          // transaction's revision; our own watch event then finds nothing new and stays quiet.
          this.revision = Number(txn.header.revision);
          const answer = apply(this.revision);
          this.notify();
          return answer;
        }
        await unavailableOnFailure('re-read the VNI configuration', () => this.load());
      }
      throw new StorageUnavailableError(
        `other server replicas kept changing the VNI configuration: ${MAX_ATTEMPTS} attempts lost the race; retry`,
      );
    });
  }

  private keep(vni: VniConfig): VniConfig {
    this.byId.set(vni.id, vni);
    return vni;
  }
}

function storedVni(kv: IKeyValue): VniConfig {
  return { ...(JSON.parse(kv.value.toString()) as Omit<VniConfig, 'revision'>), revision: Number(kv.mod_revision) };
}
