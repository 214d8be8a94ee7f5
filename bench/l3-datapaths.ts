// The two L3 datapaths (and L2 for reference) side by side, from one run:
//   (a) programming N remote endpoints: lwt (routes and neighbours through our rtnetlink module, as
//       the agent writes them) against bpf (map entries through our map API), endpoints/s;
//   (b) forwarding between two workloads on two hosts over the veth underlay, through real agents:
//       iperf3 TCP Gbit/s and UDP packets/s with 64-byte payloads, for an L2 VNI, an lwt and a bpf one.
// Everything runs in namespaces (and a BPF filesystem) of its own, removed at the end, also after a
// failure, an interruption or the time limit.
// Usage: node dist/bench/l3-datapaths.js [--endpoints N] [--seconds S] [--rounds R] [--limit S]
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { LabNetwork } from '../lab/network';
import { makeTempDir, removeTempDir } from '../lab/temp-dir';
import { DATAPATHS, Datapath, Forwarding, ForwardingLab } from './l3-forwarding';
import { StepRates, bpfRates, lwtRates } from './l3-programming';
import { bpffsDirFor, releaseBpffsDir } from '../lab/bpffs-mount';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    limit: { type: 'string', default: '600' },
  },
});
const endpoints = Number(values.endpoints);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const prefix = process.env.VXGOSSIP_LAB_PREFIX || 'vxl3b';
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

// What must go whatever happens: set by each part while it holds something.
let cleanup: () => Promise<void> = async () => undefined;
function abort(why: string, code: number): void {
  progress(`${why}: cleaning up`);
  void cleanup().finally(() => process.exit(code));
}

const k = (n: number) => `${(n / 1000).toFixed(0)}k`;
const range = (xs: number[], show: (n: number) => string) => {
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  return show(lo) === show(hi) ? show(lo) : `${show(lo)}–${show(hi)}`;
};

function printProgramming(r: { lwt: StepRates; bpf: StepRates }): void {
  console.log(`(a) programming ${endpoints} remote endpoints of one L3 VNI over 100 VTEPs, endpoints/s`);
  console.log('step        lwt (route+neigh, rtnetlink)   bpf (map entry, map API)   bpf/lwt');
  for (const step of ['add', 'unchanged', 'remove'] as const)
    console.log(
      `${step.padEnd(11)} ${k(r.lwt[step]).padStart(28)}   ${k(r.bpf[step]).padStart(24)}   ${(r.bpf[step] / r.lwt[step]).toFixed(1)}x`,
    );
}

function printForwarding(results: Record<Datapath, Forwarding[]>): void {
  console.log(`(b) forwarding between two workloads on two hosts, iperf3 ${seconds} s per run, ${rounds} round(s)`);
  console.log('datapath   TCP Gbit/s   UDP 64-byte payload: received pps   loss     UDP sender CPU');
  for (const d of DATAPATHS) {
    const r = results[d];
    const tcp = range(
      r.map((x) => x.tcpGbps),
      (n) => n.toFixed(2),
    );
    const pps = range(
      r.map((x) => x.udpPps),
      k,
    );
    const loss = range(
      r.map((x) => x.udpLoss * 100),
      (n) => `${n.toFixed(0)}%`,
    );
    const cpu = range(
      r.map((x) => x.udpSenderCpu),
      (n) => `${n.toFixed(0)}%`,
    );
    console.log(`${d.padEnd(10)} ${tcp.padStart(10)}   ${pps.padStart(33)}   ${loss.padEnd(7)}  ${cpu}`);
  }
}

async function programming(): Promise<{ lwt: StepRates; bpf: StepRates }> {
  const lab = LabNetwork.create(['prog'], { prefix });
  const bpffs = bpffsDirFor(`${prefix}prog`);
  cleanup = async () => {
    await lab.destroy();
    releaseBpffsDir(bpffs);
  };
  try {
    return { lwt: await lwtRates(lab, endpoints), bpf: await bpfRates(bpffs, endpoints) };
  } finally {
    await cleanup();
    cleanup = async () => undefined;
  }
}

async function forwarding(): Promise<Record<Datapath, Forwarding[]>> {
  const lab = LabNetwork.create(['ctrl', 'h1', 'h2'], { prefix });
  const dir = makeTempDir('bench-l3');
  let fwd: ForwardingLab | undefined;
  cleanup = async () => {
    await lab.destroy();
    fwd?.release();
    removeTempDir(dir);
  };
  try {
    progress('starting a server and two agents; attaching an L2, an lwt and a bpf workload pair');
    fwd = await ForwardingLab.start(lab, dir, prefix);
    const results: Record<Datapath, Forwarding[]> = { l2: [], lwt: [], bpf: [] };
    // Interleaved, so that whatever else the machine does weighs on each datapath alike.
    for (let round = 1; round <= rounds; round++)
      for (const d of DATAPATHS) {
        progress(`round ${round}: iperf3 over ${d}`);
        results[d].push(await fwd.measure(d, seconds));
      }
    return results;
  } finally {
    await cleanup();
    cleanup = async () => undefined;
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root: it creates network namespaces and loads BPF programs');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort(signal, 130));
  setTimeout(() => abort(`over the ${values.limit} s limit`, 1), Number(values.limit) * 1000).unref();
  progress(`programming ${endpoints} endpoints on each datapath`);
  const programmed = await programming();
  const forwarded = await forwarding();
  console.log(`L3 datapaths (kernel ${os.release()}, ${os.cpus().length} cores, everything on this machine)`);
  printProgramming(programmed);
  printForwarding(forwarded);
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
