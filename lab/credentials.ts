import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';

// What a test, benchmark or demo needs to talk to a server it started: the operator credential the
// server wrote to its data dir at first start, for ctl and for in-process gRPC clients.

export function operatorDir(serverDataDir: string): string {
  return path.join(serverDataDir, 'operator');
}

// ctl's flags for this server: `host.ctl([...operatorArgs(addr, dir), 'vni', 'list'])`.
export function operatorArgs(serverAddress: string, serverDataDir: string): string[] {
  return ['--server', serverAddress, '--credentials', operatorDir(serverDataDir)];
}

export function operatorCredentials(serverDataDir: string): grpc.ChannelCredentials {
  const dir = operatorDir(serverDataDir);
  const read = (file: string) => fs.readFileSync(path.join(dir, file));
  return grpc.credentials.createSsl(read('ca.crt'), read('operator.key'), read('operator.crt'));
}

// The server's TLS without a client certificate: what an outsider, or a host enrolling, presents.
export function anonymousCredentials(serverDataDir: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(fs.readFileSync(path.join(operatorDir(serverDataDir), 'ca.crt')));
}

type CtlRunner = (args: string[]) => { status: number; stdout: string; stderr: string };

// A join token for `uses` hosts, made with ctl the way an operator would.
export function createJoinToken(ctl: CtlRunner, serverAddress: string, serverDataDir: string, uses = 1): string {
  const r = ctl([...operatorArgs(serverAddress, serverDataDir), 'token', 'create', '--uses', String(uses)]);
  if (r.status !== 0) throw new Error(`ctl token create failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}
