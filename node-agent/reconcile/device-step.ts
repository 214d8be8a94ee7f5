import type { Logger } from '../../common/log';
import type { VniConfig } from '../../common/vni';
import type { DeviceReconciler } from '../kernel/device-reconciler';
import type { L3Vni, RealisedVnis, VniPorts } from '../kernel/realised-vnis';
import { bridgeName, l3DeviceName, vxlanName } from '../kernel/vni-devices';
import type { Rtnetlink } from '../netlink';
import type { DeviceStep } from './steps';

export interface DeviceStepInputs {
  vnis: () => VniConfig[];
  // Whether the configuration is complete (server, cache or a peer), so unknown devices may go.
  authoritative: () => boolean;
  // The devices later steps and the kernel watch follow.
  onRealised: (realised: RealisedVnis) => void;
  // Puts attached endpoints back into their bridges (one that was deleted and recreated has none).
  replug: (bridges: VniPorts[]) => Promise<void>;
}

// Realises every configured VNI's devices and resolves the ones that came up to interface indexes.
export class KernelDeviceStep implements DeviceStep {
  constructor(
    private readonly devices: DeviceReconciler,
    private readonly rt: Rtnetlink,
    private readonly inputs: DeviceStepInputs,
    private readonly log: Logger,
  ) {}

  async realise() {
    const vnis = this.inputs.vnis();
    const statuses = await this.devices.reconcile(vnis, this.inputs.authoritative());
    const realised: RealisedVnis = { l2: [], l3: [] };
    for (const vni of vnis) {
      if (!statuses.some((s) => s.vni === vni.id && s.devicesReady)) continue;
      if (vni.mode === 'l3') {
        const device = await this.rt.links.get(l3DeviceName(vni.dstport));
        if (device)
          realised.l3.push({
            vni: vni.id,
            deviceIndex: device.index,
            device: device.name,
            subnet: vni.subnet,
            // A configuration from before datapaths names none: its routes are lwt's.
            datapath: vni.datapath === 'bpf' ? 'bpf' : 'lwt',
          } satisfies L3Vni);
        continue;
      }
      const [vx, br] = await Promise.all([this.rt.links.get(vxlanName(vni.id)), this.rt.links.get(bridgeName(vni.id))]);
      if (vx && br)
        realised.l2.push({
          vni: vni.id,
          vxlanIndex: vx.index,
          bridgeIndex: br.index,
          headEnd: vni.multicastGroup === '',
        } satisfies VniPorts);
    }
    await this.inputs.replug(realised.l2);
    this.inputs.onRealised(realised);
    this.log.info('reconciled', {
      ready: statuses.filter((s) => s.devicesReady).length,
      failed: statuses.filter((s) => !s.devicesReady).length,
    });
    return { realised, statuses };
  }
}
