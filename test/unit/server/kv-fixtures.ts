import type { Etcd3 } from 'etcd3';
import { Database } from '../../../server/database';
import type { DurableKv } from '../../../server/durable-kv';
import { LevelKv } from '../../../server/level-kv';
import { EtcdKv } from '../../../server/etcd/etcd-kv';
import { connectEtcd } from '../../../server/etcd/etcd-client';
import { makeTempDir, removeTempDir } from '../../../lab/temp-dir';

// Where a store under test keeps its data: open() again after close() must find everything the
// stores on the earlier one acknowledged, as a restarted server would.
export interface KvFixture {
  open(): Promise<DurableKv>;
  close(): Promise<void>;
  cleanup(): Promise<void>;
}

export function levelKv(): KvFixture {
  const dir = makeTempDir('kv');
  let db: Database | undefined;
  return {
    open: async () => {
      db = await Database.open(dir);
      return new LevelKv(db);
    },
    close: async () => {
      await db?.close();
      db = undefined;
    },
    cleanup: async () => {
      await db?.close().catch(() => undefined);
      removeTempDir(dir);
    },
  };
}

// Each open its own client on the one keyspace, as another replica (or a restarted one) has.
export function etcdKv(endpoint: string, prefix: string): KvFixture & { replica(): DurableKv } {
  let clients: Etcd3[] = [];
  const replica = () => {
    const client = connectEtcd({ endpoints: [endpoint] });
    clients.push(client);
    return new EtcdKv(client, prefix);
  };
  const close = async () => {
    for (const client of clients) client.close();
    clients = [];
  };
  return { open: async () => replica(), replica, close, cleanup: close };
}
