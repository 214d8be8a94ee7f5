// Programs N FDB entries (distinct MACs over 100 VTEPs) into one vxlan device, dumps and deletes
// them, through our rtnetlink module and then through `bridge -batch` in the same namespace, and
// prints entries/s for each step with the ratio. Usage: node dist/bench/netlink-fdb.js [N]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabNetwork } from '../lab/network';
import { FdbEntry, Rtnetlink } from '../node-agent/netlink';
import { numberedMac } from '../lab/numbered-mac';
import { makeTempDir, removeTempDir } from '../lab/temp-dir';

const count = Number(process.argv[2] ?? 100_000);
const VTEPS = 100;

const mac = (i: number) => numberedMac(i, 0x42);
const vtep = (i: number) => `198.18.${1 + Math.floor((i % VTEPS) / 250)}.${1 + ((i % VTEPS) % 250)}`;

function timed<T>(fn: () => T): { value: T; seconds: number } {
  const start = process.hrtime.bigint();
  const value = fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

async function timedAsync<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

function assertAllAccepted(step: string, errors: Array<Error | undefined>): void {
  const failed = errors.filter((e) => e !== undefined);
  if (failed.length > 0)
    throw new Error(`${step}: ${failed.length} of ${errors.length} refused, first: ${failed[0].message}`);
}

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root: it creates a network namespace and a vxlan device');
  const lab = LabNetwork.create(['bench']);
  const host = lab.hosts[0];
  // Interrupted (Ctrl-C, a CI timeout): still remove every namespace and process.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: cleaning up`);
      void lab.destroy().finally(() => process.exit(130));
    });
  }
  const tmp = makeTempDir('bench-netlink');
  try {
    host.exec('ip', [
      'link',
      'add',
      'vxbench',
      'type',
      'vxlan',
      'id',
      '42',
      'local',
      host.ip,
      'dev',
      'eth0',
      'dstport',
      '4789',
      'nolearning',
    ]);
    host.exec('ip', ['link', 'set', 'vxbench', 'up']);
    const rt = Rtnetlink.open({ netns: `/run/netns/${host.netns}` });
    const dev = (await rt.links.get('vxbench'))!;
    const entries: FdbEntry[] = Array.from({ length: count }, (_, i) => ({
      ifindex: dev.index,
      mac: mac(i),
      dst: vtep(i),
      self: true,
    }));

    progress(`vxgossip rtnetlink: adding ${count} entries`);
    const ourAdd = await timedAsync(() => rt.fdb.addMany(entries));
    assertAllAccepted('add', ourAdd.value);
    progress('vxgossip rtnetlink: dumping');
    const ourDump = await timedAsync(() => rt.fdb.list(dev.index));
    const dumped = ourDump.value.filter((e) => e.dst !== undefined).length;
    if (dumped !== count) throw new Error(`dump returned ${dumped} entries with a dst, expected ${count}`);
    progress('vxgossip rtnetlink: deleting');
    const ourDelete = await timedAsync(() => rt.fdb.deleteMany(entries));
    assertAllAccepted('delete', ourDelete.value);
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    const left = (await rt.fdb.list(dev.index)).filter((e) => e.dst !== undefined).length;
    if (left !== 0) throw new Error(`${left} entries left after delete`);
    rt.close();

    progress('bridge -batch: adding');
    const addFile = path.join(tmp, 'add');
    const delFile = path.join(tmp, 'del');
    fs.writeFileSync(
      addFile,
      entries.map((e) => `fdb add ${e.mac} dev vxbench dst ${e.dst} self permanent\n`).join(''),
    );
    fs.writeFileSync(delFile, entries.map((e) => `fdb del ${e.mac} dev vxbench dst ${e.dst} self\n`).join(''));
    const refAdd = timed(() => host.exec('bridge', ['-batch', addFile]));
    progress('bridge: dumping');
    const refDump = timed(() =>
      execFileSync('ip', ['netns', 'exec', host.netns, 'bridge', 'fdb', 'show', 'dev', 'vxbench'], {
        maxBuffer: 1 << 30,
      }).toString(),
    );
    const refDumped = refDump.value.split('\n').filter((l) => l.includes(' dst ')).length;
    if (refDumped !== count) throw new Error(`bridge fdb show printed ${refDumped} entries, expected ${count}`);
    progress('bridge -batch: deleting');
    const refDelete = timed(() => host.exec('bridge', ['-batch', delFile]));

    const rate = (s: number) => Math.round(count / s);
    const rows = [
      ['add', rate(ourAdd.seconds), rate(refAdd.seconds)],
      ['dump', rate(ourDump.seconds), rate(refDump.seconds)],
      ['delete', rate(ourDelete.seconds), rate(refDelete.seconds)],
    ] as const;
    console.log(`FDB programming, ${count} entries over ${VTEPS} VTEPs on one vxlan device (kernel ${os.release()})`);
    console.log('step     vxgossip entries/s   bridge -batch entries/s   ratio');
    for (const [step, ours, ref] of rows) {
      console.log(
        `${step.padEnd(8)} ${String(ours).padStart(18)}   ${String(ref).padStart(23)}   ${(ours / ref).toFixed(2)}x`,
      );
    }
    console.log(`peak RSS of the vxgossip run: ${peakRssMb.toFixed(1)} MB (target <= 150 MB)`);
  } finally {
    removeTempDir(tmp);
    await lab.destroy();
  }
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
