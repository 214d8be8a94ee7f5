import * as fs from 'node:fs';
import type { Logger } from '../common/log';
import { DEFAULT_MAX_RECORDS_PER_OWNER } from '../common/fdb-state/record';
import type { Database, DatabaseHealth } from './database';
import type { RecordStore } from './record-store';
import { ReplicaStore } from './replica-store';
import type { VniConfigStore } from './vni-config-store';
import { VniStore } from './vni-store';
import { connectEtcd, type EtcdClientOptions } from './etcd/etcd-client';
import { EtcdVniStore } from './etcd/etcd-vni-store';
import { EtcdRecordStore } from './etcd/etcd-record-store';
import { EtcdHealth, WriteGate } from './etcd/etcd-health';
import { EtcdAgentDirectory } from './etcd/etcd-agent-directory';
import type { AgentDirectory } from './agent-directory';
import type { DurableKv } from './durable-kv';
import { LevelKv } from './level-kv';
import { EtcdKv } from './etcd/etcd-kv';

// Whether the store accepts writes, and why not; followed by grpc.health.v1, /readyz and the metrics.
export interface StorageHealth {
  health(): DatabaseHealth;
  readonly writeFailures: number;
  on(event: 'health', listener: (health: DatabaseHealth) => void): unknown;
  off(event: 'health', listener: (health: DatabaseHealth) => void): unknown;
}

// Everything the server keeps durable, in one level database or in etcd.
export interface ServerStorage {
  // For logs and errors: where the state lives.
  readonly description: string;
  vnis: VniConfigStore;
  records: RecordStore;
  // The node registry, join tokens, address blocks (and with replicas the cluster's keys).
  kv: DurableKv;
  // Whether the cluster's keys live in `kv`, shared by the replicas, rather than in --data-dir.
  sharedPki: boolean;
  health: StorageHealth;
  // The level database, when that is the store.
  level?: Database;
  // How replicas share their agents, when there are replicas.
  directory?: AgentDirectory;
  close(): Promise<void>;
}

// One server: a level database in `dataDir`, fail-stop (see Database). `onLost` is told when it
// cannot be reopened after a failed write.
export async function openLevelStorage(
  dataDir: string,
  log: Logger,
  maxRecordsPerOwner = DEFAULT_MAX_RECORDS_PER_OWNER,
  onLost?: (err: Error) => void,
): Promise<ServerStorage> {
  fs.mkdirSync(dataDir, { recursive: true });
  const vnis = await VniStore.open(dataDir, log);
  if (onLost) vnis.db.on('lost', onLost);
  const records = await ReplicaStore.open(vnis.db, maxRecordsPerOwner);
  return {
    description: `level in ${dataDir}`,
    vnis,
    records,
    kv: new LevelKv(vnis.db),
    sharedPki: false,
    health: vnis.db,
    level: vnis.db,
    close: () => vnis.close(),
  };
}

export interface EtcdStorageOptions extends EtcdClientOptions {
  // Separates clusters sharing one etcd; every key is under it.
  prefix: string;
  maxRecordsPerOwner?: number;
}

// Several replicas side by side on one etcd cluster.
export async function openEtcdStorage(options: EtcdStorageOptions, log: Logger): Promise<ServerStorage> {
  const etcd = connectEtcd(options);
  const where = `etcd at ${options.endpoints.join(',')} under ${options.prefix}`;
  const gate = new WriteGate();
  try {
    const vnis = await EtcdVniStore.open(etcd, options.prefix, log.child({ part: 'etcd-vnis' }), gate);
    const records = await EtcdRecordStore.open(
      etcd,
      options.prefix,
      options.maxRecordsPerOwner,
      log.child({ part: 'etcd-records' }),
      gate,
    );
    const directory = await EtcdAgentDirectory.open(etcd, options.prefix, log.child({ part: 'etcd-replicas' }));
    const kv = new EtcdKv(etcd, options.prefix, log.child({ part: 'etcd-kv' }), gate);
    const health = new EtcdHealth(etcd, `${options.prefix}config/revision`, log.child({ part: 'etcd-health' }));
    health.start([vnis.following, records.following, kv, directory, ...directory.following]);
    gate.follow(health);
    return {
      description: `${where}, as replica ${directory.replica}`,
      vnis,
      records,
      kv,
      sharedPki: true,
      health,
      directory,
      close: async () => {
        health.stop();
        await Promise.all([vnis.close(), records.close(), directory.close()]).finally(() => etcd.close());
      },
    };
  } catch (err) {
    etcd.close();
    throw new Error(`cannot open the state in ${where}: ${(err as Error).message}`);
  }
}
