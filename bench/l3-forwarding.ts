// Part (b) of bench/l3-datapaths.ts: forwarding between two workloads on two hosts (namespaces on a
// veth underlay), through the agents, on each datapath: an L2 VNI (FDB), an L3 VNI on lwt and one on
// bpf. iperf3: TCP throughput, and UDP packets per second with 64-byte payloads.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { bpffsDirFor, releaseBpffsDir } from '../lab/bpffs-mount';
import { eventually } from '../lab/eventually';
import { LabCluster } from '../lab/lab-cluster';
import type { LabNetwork } from '../lab/network';

export type Datapath = 'l2' | 'lwt' | 'bpf';
export const DATAPATHS: Datapath[] = ['l2', 'lwt', 'bpf'];

export interface Forwarding {
  tcpGbps: number;
  // UDP datagrams the receiver got per second, and the share the sender sent that never arrived.
  udpPps: number;
  udpLoss: number;
  // The UDP sender's CPU (iperf3's own figure, user and system): near 100 %, it is what limits the rate.
  udpSenderCpu: number;
}

const VNIS: Record<Datapath, { vni: number; args: string[]; net: string }> = {
  l2: { vni: 42, args: ['--subnet', '10.42.0.0/24'], net: '10.42.0' },
  lwt: { vni: 100, args: ['--mode', 'l3', '--subnet', '10.100.0.0/24'], net: '10.100.0' },
  bpf: {
    vni: 200,
    args: ['--mode', 'l3', '--subnet', '10.200.0.0/24', '--datapath', 'bpf', '--dstport', '4790'],
    net: '10.200.0',
  },
};

interface IperfResult {
  end: {
    sum_received?: { bits_per_second: number };
    sum?: { packets: number; lost_packets: number; seconds: number };
    cpu_utilization_percent?: { host_total: number };
  };
}

// A server, two agents and one workload pair per datapath (sender on h1, receiver on h2).
export class ForwardingLab {
  // The workloads' namespaces, by datapath and side.
  private readonly namespaces = new Map<string, string>();

  private constructor(
    private readonly cluster: LabCluster,
    private readonly bpffs: string,
  ) {}

  static async start(lab: LabNetwork, dir: string, prefix: string): Promise<ForwardingLab> {
    const bpffs = bpffsDirFor(prefix);
    try {
      const cluster = await LabCluster.start(lab, dir, {
        agentArgs: (h) => ['--bpffs', bpffs, '--bpf-pin-dir', path.join(bpffs, h.name)],
      });
      const forwarding = new ForwardingLab(cluster, bpffs);
      await forwarding.attach();
      return forwarding;
    } catch (err) {
      releaseBpffsDir(bpffs);
      throw err;
    }
  }

  // After the lab is destroyed (its agents gone): the BPF filesystem and what is pinned in it.
  release(): void {
    releaseBpffsDir(this.bpffs);
  }

  private netns(datapath: Datapath, side: 1 | 2): string {
    const name = `${datapath}-${side}`;
    if (!this.namespaces.has(name)) this.namespaces.set(name, this.cluster.lab.namespace(name));
    return this.namespaces.get(name)!;
  }

  private ip(datapath: Datapath, side: 1 | 2): string {
    return `${VNIS[datapath].net}.${10 + side}`;
  }

  private async attach(): Promise<void> {
    const { cluster } = this;
    for (const d of DATAPATHS) cluster.ctl('vni', 'create', String(VNIS[d].vni), ...VNIS[d].args);
    for (const h of cluster.hosts) await eventually(() => assert.ok(h.link('br42') && h.link('vxl3-4790')), 20_000);
    for (const d of DATAPATHS)
      for (const side of [1, 2] as const)
        cluster.ctl(
          ...['endpoint', 'attach', '--node', `h${side}`, '--vni', String(VNIS[d].vni)],
          ...['--netns', this.netns(d, side), '--ip', `${this.ip(d, side)}/24`],
        );
    for (const d of DATAPATHS)
      await eventually(() => {
        assert.equal(this.run(d, 'ping', ['-c', '1', '-W', '1', this.ip(d, 2)]).status, 0, `${d}: no ping`);
      }, 30_000);
  }

  private run(datapath: Datapath, command: string, args: string[]) {
    return this.cluster.lab.execIn(this.netns(datapath, 1), command, args);
  }

  // One iperf3 run against a server on the receiving workload (started for it, stopped after).
  private async iperf(datapath: Datapath, args: string[]): Promise<IperfResult> {
    const server = this.cluster.lab.spawnIn(this.netns(datapath, 2), `iperf3-${datapath}`, 'iperf3', [
      ...['-s', '-1', '--forceflush'],
    ]);
    try {
      await server.waitForOutput(/Server listening/, 10_000);
      const r = this.run(datapath, 'iperf3', ['-c', this.ip(datapath, 2), '-J', ...args]);
      if (r.status !== 0) throw new Error(`iperf3 ${args.join(' ')} over ${datapath}: ${r.stderr || r.stdout}`);
      return JSON.parse(r.stdout) as IperfResult;
    } finally {
      await server.stop('SIGTERM');
    }
  }

  async measure(datapath: Datapath, seconds: number): Promise<Forwarding> {
    const tcp = await this.iperf(datapath, ['-t', String(seconds)]);
    // -b 0: as fast as the sender can; -l 64: a 64-byte payload per datagram.
    const udp = await this.iperf(datapath, ['-u', '-b', '0', '-l', '64', '-t', String(seconds)]);
    const sum = udp.end.sum!;
    return {
      tcpGbps: tcp.end.sum_received!.bits_per_second / 1e9,
      udpPps: (sum.packets - sum.lost_packets) / sum.seconds,
      udpLoss: sum.packets > 0 ? sum.lost_packets / sum.packets : 0,
      udpSenderCpu: udp.end.cpu_utilization_percent?.host_total ?? 0,
    };
  }
}
