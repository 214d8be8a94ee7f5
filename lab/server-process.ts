import * as path from 'node:path';
import { ManagedProcess } from './managed-process';
import { makeTempDir } from './temp-dir';
import { repoRoot } from '../common/paths';
import { operatorArgs } from './credentials';

export interface ServerHandle {
  address: string;
  dataDir: string;
  proc: ManagedProcess;
  // ctl's flags to reach it as an operator.
  ctlArgs: string[];
}

// With VXGOSSIP_TEST_ETCD_ENDPOINTS set (the contract suite run on etcd), every server the tests start
// keeps its state in etcd instead, under a prefix of its data dir's name: a restart with the same
// data dir finds what it left, and no two servers share state unless a test means them to.
function storeFlags(dataDir: string): string[] {
  const endpoints = process.env.VXGOSSIP_TEST_ETCD_ENDPOINTS;
  if (!endpoints) return [];
  return ['--store', 'etcd', '--etcd-endpoints', endpoints, '--etcd-prefix', `/${path.basename(dataDir)}/`];
}

// Starts bin/server on a free loopback port and resolves once it logs that it is ready.
export async function startServer(
  dataDir = makeTempDir('server'),
  listen = '127.0.0.1:0',
  extra: string[] = [],
): Promise<ServerHandle> {
  const proc = new ManagedProcess('server', process.execPath, [
    path.join(repoRoot, 'bin', 'server'),
    '--listen',
    listen,
    '--data-dir',
    dataDir,
    ...storeFlags(dataDir),
    ...extra,
  ]);
  const ready = await proc.waitForLog((r) => r.msg === 'server ready', 15_000);
  const address = String(ready.address);
  return { address, dataDir, proc, ctlArgs: operatorArgs(address, dataDir) };
}
