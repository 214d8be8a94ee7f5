import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabHost } from '../lab/network';
import { eventually } from '../lab/eventually';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A serf agent on each host (port 7947), an event handler stamping arrival times: the reference for
// gossip spread and failure detection, on the same namespaces.
export async function serfReference(
  hosts: LabHost[],
  tmp: string,
  { kills, pollMs, progress }: { kills: number; pollMs: number; progress: (msg: string) => void },
): Promise<{ events: number[]; missed: number; failures: number[] }> {
  progress(`serf reference: ${hosts.length} agents`);
  const handler = path.join(tmp, 'serf-handler.sh');
  // User events carry the payload on stdin; member events one line per member ("name address ...").
  fs.writeFileSync(
    handler,
    `#!/bin/sh\nnow=$(date +%s%N)\nwhile read -r line || [ -n "$line" ]; do echo "$now $SERF_EVENT $SERF_USER_EVENT $line" >> "${tmp}/serf-$SERF_SELF_NAME.log"; done\n`,
    { mode: 0o755 },
  );
  const serfs = hosts.map((h) =>
    h.spawn('serf', 'serf', [
      'agent',
      `-node=${h.name}`,
      `-bind=${h.ip}:7947`,
      '-rpc-addr=127.0.0.1:7373',
      `-event-handler=${handler}`,
      '-log-level=warn',
    ]),
  );
  await sleep(1500);
  for (const h of hosts.slice(1)) h.exec('serf', ['join', '-rpc-addr=127.0.0.1:7373', `${hosts[0].ip}:7947`]);
  await eventually(
    () => {
      const out = hosts[hosts.length - 1].exec('serf', ['members', '-rpc-addr=127.0.0.1:7373', '-status=alive']);
      assert.equal(out.trim().split('\n').length, hosts.length, 'serf members everywhere');
    },
    60_000,
    pollMs,
  );
  const logOf = (h: LabHost) => {
    const f = path.join(tmp, `serf-${h.name}.log`);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  };
  const events: number[] = [];
  // serf's user events are best effort: one that has not reached every agent in 30 s is counted, not waited for.
  let missed = 0;
  for (let i = 0; i < 20; i++) {
    const sender = hosts[i % hosts.length];
    const tag = `e${i}`;
    const sent = Date.now();
    sender.exec('serf', ['event', '-rpc-addr=127.0.0.1:7373', '-coalesce=false', 'bench', tag]);
    const arrivals = await eventually(
      () => {
        const times: number[] = [];
        for (const h of hosts) {
          if (h === sender) continue;
          const line = logOf(h)
            .split('\n')
            .find((l) => l.endsWith(` user bench ${tag}`));
          assert.ok(line, `serf event ${tag} on ${h.name}`);
          times.push(Number(line.split(' ')[0]) / 1e6 - sent);
        }
        return times;
      },
      30_000,
      pollMs,
    ).catch(() => undefined);
    if (arrivals) events.push(Math.max(...arrivals));
    else missed++;
  }
  const failures: number[] = [];
  for (let k = 1; k <= kills; k++) {
    const victim = hosts[hosts.length - k];
    const killedAt = Date.now();
    await serfs[serfs.length - k].stop('SIGKILL');
    const times = await eventually(
      () => {
        const out: number[] = [];
        for (const h of hosts.slice(0, hosts.length - k)) {
          const line = logOf(h)
            .split('\n')
            .find((l) => new RegExp(` member-failed +${victim.name}\\s`).test(l));
          assert.ok(line, `serf member-failed on ${h.name}`);
          out.push(Number(line.split(' ')[0]) / 1e6 - killedAt);
        }
        return out;
      },
      120_000,
      pollMs,
    );
    failures.push(Math.max(...times));
  }
  for (const s of serfs) await s.stop('SIGKILL');
  return { events, missed, failures };
}
