import type { AgentMetrics } from '../agent-metrics';
import type { LocalBpfEndpoint } from '../kernel/bpf-desired';
import type { BpfDatapathWriter } from '../kernel/bpf-datapath-writer';
import type { AttachedEndpoint } from '../kernel/endpoint-attacher';
import type { Link, Rtnetlink } from '../netlink';
import type { BpfStep, PassContext, StepOutcome } from './steps';

// L3 VNIs on the BPF datapath: their local endpoints (veths as the kernel has them) and the remote
// endpoints gossip announces, into the datapath's maps, with the programs attached.
export class BpfDatapathStep implements BpfStep {
  constructor(
    private readonly writer: BpfDatapathWriter,
    private readonly rt: Pick<Rtnetlink, 'links'>,
    private readonly attached: () => Promise<AttachedEndpoint[]>,
    private readonly metrics?: AgentMetrics,
  ) {}

  async program(pass: PassContext): Promise<StepOutcome> {
    const vnis = pass.realised.l3.filter((v) => v.datapath === 'bpf');
    const bpf = new Set(vnis.map((v) => v.vni));
    const attached = await pass.once('attached', this.attached);
    // One dump for every veth, read only when a pass needs it.
    const links = () => pass.once('links', async () => new Map((await this.rt.links.list()).map((l) => [l.name, l])));
    const local: LocalBpfEndpoint[] = [];
    const ofBpf = attached.filter((a) => bpf.has(a.vni));
    const byName = ofBpf.length > 0 ? await links() : new Map<string, Link>();
    for (const e of ofBpf) {
      const host = byName.get(e.hostInterface);
      if (host?.mac) local.push({ vni: e.vni, ip: e.ip, mac: e.mac, hostIfindex: host.index, hostMac: host.mac });
    }
    const result = await this.writer.reconcile({
      vnis,
      local,
      remote: pass.desired.endpoints.filter((e) => bpf.has(e.body.vni)),
      sweep: pass.sweep,
      candidates: async () => {
        const all = await links();
        const veths = attached.map((a) => all.get(a.hostInterface)?.index).filter((i) => i !== undefined);
        return [...veths, ...pass.realised.l3.map((v) => v.deviceIndex)];
      },
    });
    this.metrics?.written.inc({ kind: 'add' }, result.written);
    this.metrics?.written.inc({ kind: 'remove' }, result.removed);
    this.countRepairs(result.repaired);
    const perVni = new Map(
      [...result.desired].map(([vni, desired]) => [vni, { desired, programmed: result.programmed.get(vni) ?? 0 }]),
    );
    return { perVni, removed: result.removed, conflicts: [], errors: result.errors };
  }

  check(): void {
    this.countRepairs(this.writer.check());
  }

  private countRepairs(repaired: { entries: number; attachments: number }): void {
    this.metrics?.bpfRepairs.inc({ kind: 'entry' }, repaired.entries);
    this.metrics?.bpfRepairs.inc({ kind: 'attachment' }, repaired.attachments);
  }

  close(): void {
    this.writer.close();
  }
}
