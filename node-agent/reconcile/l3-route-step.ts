import type { AttachedEndpoint } from '../kernel/endpoint-attacher';
import type { L3RouteWriter, LocalL3Endpoint } from '../kernel/l3-route-writer';
import type { Rtnetlink } from '../netlink';
import type { PassContext, ProgrammingStep, StepOutcome } from './steps';

// L3 VNIs on the lwt datapath: each a routing domain, with routes to remote endpoints through the
// tunnel and to local ones through their veths; the veths of endpoints whose VNI is not realised send
// nowhere. Nor do those of BPF VNIs, as far as routing goes: their program (tc ingress, before any
// routing) forwards everything they send, and should it be missing, what they send is dropped instead
// of routed by main.
export class L3RouteStep implements ProgrammingStep {
  constructor(
    private readonly writer: L3RouteWriter,
    private readonly rt: Rtnetlink,
    private readonly attached: () => Promise<AttachedEndpoint[]>,
  ) {}

  async program(pass: PassContext): Promise<StepOutcome> {
    const lwt = pass.realised.l3.filter((v) => v.datapath === 'lwt');
    const l3 = new Set(lwt.map((v) => v.vni));
    const bpf = new Set(pass.realised.l3.filter((v) => v.datapath === 'bpf').map((v) => v.vni));
    const local: LocalL3Endpoint[] = [];
    // Read once per pass for every step (the local records step needs it too).
    const attached = await pass.once('attached', this.attached);
    for (const e of attached.filter((a) => l3.has(a.vni))) {
      const host = await this.rt.links.get(e.hostInterface);
      if (host) local.push({ vni: e.vni, ip: e.ip, hostIfindex: host.index, hostInterface: e.hostInterface });
    }
    // Orphans not during a restart's grace period: a drop rule added then would outlast a VNI realised
    // late. BPF VNIs are realised.
    const orphans = attached
      .filter((a) => bpf.has(a.vni) || (pass.sweep && !pass.localVnis.has(a.vni)))
      .map((a) => a.hostInterface);
    const remote = pass.desired.endpoints.filter((e) => l3.has(e.body.vni));
    const result = await this.writer.reconcile(lwt, local, remote, pass.sweep, orphans);
    const perVni = new Map(
      [...result.desired].map(([vni, desired]) => [vni, { desired, programmed: result.programmed.get(vni) ?? 0 }]),
    );
    return { perVni, removed: result.removed, conflicts: result.conflicts };
  }
}
