import * as fs from 'node:fs';
import { agentClient } from './agent-client';
import { parseEnvironment } from './environment';
import { MAX_CONFIG_BYTES } from './net-config';
import { runPlugin } from './plugin';

// The vxgossip CNI plugin, run by a container runtime: the command in CNI_COMMAND, the network
// configuration on stdin, the result or the error (with its CNI code) on stdout.
function readStdin(): string {
  const chunks: Buffer[] = [];
  let size = 0;
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((err as NodeJS.ErrnoException).code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    size += n;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
    // Past the bound is enough for the parser to refuse it by size.
    if (size > MAX_CONFIG_BYTES) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

void runPlugin(() => parseEnvironment(process.env), readStdin(), { agent: agentClient }).then(
  ({ stdout, exitCode }) => {
    process.stdout.write(stdout, () => process.exit(exitCode));
  },
);
