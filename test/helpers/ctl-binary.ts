import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';

// Nothing from the caller's environment decides where ctl goes or what it presents.
const CLEAN_ENV = {
  VXGOSSIP_SERVER: '',
  VXGOSSIP_CREDENTIALS: '',
  VXGOSSIP_TLS_CA: '',
  VXGOSSIP_TLS_CERT: '',
  VXGOSSIP_TLS_KEY: '',
  VXGOSSIP_TOKEN: '',
};

export interface CtlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

// The real ctl binary, as an operator runs it on this host; bounded in time.
export function ctl(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): CtlResult {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'ctl'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...CLEAN_ENV, ...env },
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
