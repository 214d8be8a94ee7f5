import type { Logger } from '../../common/log';
import type { VniConfig } from '../../common/vni';
import type { ProgrammingStatus } from '../../generated/vxgossip/v1/ProgrammingStatus';
import type { BridgePortOptions, KernelLink, LinkChanges, LinkDriver } from './link-driver';
import { BridgeSpec, Underlay, VxlanSpec, l3Device, ownedL3Port, ownedVni, vniDevices } from './vni-devices';

const WANTED_PORT: BridgePortOptions = { learning: false, neighSuppress: true };

// Reconciles the VNI devices (vxlan<VNI> as a port of br<VNI>) against the kernel: creates what is
// missing, changes what differs in place, recreates only what cannot change in place, and deletes
// only links that carry our ownership alias. Each VNI fails alone: one broken VNI never stops the others.
export class DeviceReconciler {
  constructor(
    private readonly driver: LinkDriver,
    private readonly vtep: string,
    private readonly underlay: () => Promise<Underlay>,
    private readonly log: Logger,
  ) {}

  // sweep: whether `vnis` is the complete desired set, so owned devices of other VNIs may go.
  async reconcile(vnis: VniConfig[], sweep: boolean): Promise<ProgrammingStatus[]> {
    const links = await this.driver.listLinks();
    const byName = new Map(links.map((l) => [l.name, l]));
    const statuses: ProgrammingStatus[] = [];
    let underlay: Underlay | undefined;
    const l3Ready = new Map<number, Promise<void>>();
    for (const vni of vnis) {
      try {
        underlay ??= await this.underlay();
        if (vni.mode === 'l3') {
          const spec = l3Device(vni.dstport, this.vtep, underlay);
          if (!l3Ready.has(vni.dstport)) l3Ready.set(vni.dstport, this.ensureL3Device(spec, byName.get(spec.name)));
          await l3Ready.get(vni.dstport);
          statuses.push({ vni: vni.id, devicesReady: true });
          continue;
        }
        const devices = vniDevices(vni, this.vtep, underlay);
        const bridge = await this.ensureBridge(devices.bridge, byName.get(devices.bridge.name));
        await this.ensureVxlan(devices.vxlan, byName.get(devices.vxlan.name), bridge);
        statuses.push({ vni: vni.id, devicesReady: true });
      } catch (err) {
        const error = (err as Error).message;
        this.log.error('cannot realise VNI; other VNIs are unaffected', { vni: vni.id, error });
        statuses.push({ vni: vni.id, devicesReady: false, error });
      }
    }
    if (sweep)
      await this.sweep(
        links,
        new Set(vnis.filter((v) => v.mode === 'l2').map((v) => v.id)),
        new Set(vnis.filter((v) => v.mode === 'l3').map((v) => v.dstport)),
      );
    return statuses;
  }

  private async sweep(links: KernelLink[], desired: Set<number>, l3Ports: Set<number>): Promise<void> {
    // Ports before bridges, so a bridge is never deleted under a port we also delete.
    const stale = links
      .filter((l) => {
        const vni = ownedVni(l.alias);
        const port = ownedL3Port(l.alias);
        return (vni !== undefined && !desired.has(vni)) || (port !== undefined && !l3Ports.has(port));
      })
      .sort((a, b) => Number(a.kind === 'bridge') - Number(b.kind === 'bridge'));
    for (const link of stale) {
      try {
        await this.driver.deleteLink(link);
        this.log.info('removed device of a deleted VNI', { device: link.name, vni: ownedVni(link.alias) });
      } catch (err) {
        this.log.error('cannot remove device of a deleted VNI', { device: link.name, error: (err as Error).message });
      }
    }
  }

  private assertOurs(link: KernelLink, kind: string, alias: string): void {
    if (link.kind !== kind) {
      throw new Error(
        `${link.name} already exists as a ${link.kind ?? 'physical'} link, not ${kind}; rename or delete it to let vxgossip create its ${kind} device`,
      );
    }
    if (link.alias !== alias) {
      throw new Error(
        `${link.name} exists but was not created by vxgossip; delete it, or set its alias to "${alias}" to hand it over`,
      );
    }
  }

  private async ensureBridge(spec: BridgeSpec, existing: KernelLink | undefined): Promise<KernelLink> {
    if (existing) {
      this.assertOurs(existing, 'bridge', spec.alias);
    } else {
      await this.driver.createBridge(spec);
      this.log.info('created bridge', { device: spec.name });
      existing = await this.refetch(spec.name);
    }
    const changes: LinkChanges = {};
    if (existing.mtu !== spec.mtu) changes.mtu = spec.mtu;
    if (!existing.up) changes.up = true;
    await this.apply(existing, changes);
    return existing;
  }

  // A vxlan device as the spec says, created if missing and recreated only for what the kernel
  // cannot change on a live device; returns it as the kernel has it now.
  private async ensureVxlanDevice(spec: VxlanSpec, existing: KernelLink | undefined): Promise<KernelLink> {
    if (existing) {
      this.assertOurs(existing, 'vxlan', spec.alias);
      const fixed = this.fixedDifferences(spec, existing);
      if (fixed.length === 0) return existing;
      this.log.warn('recreating vxlan device', { device: spec.name, differences: fixed });
      await this.driver.deleteLink(existing);
    }
    await this.driver.createVxlan(spec);
    this.log.info('created vxlan device', {
      device: spec.name,
      vni: spec.vni,
      external: spec.external,
      local: spec.local,
      dstport: spec.dstport,
    });
    return this.refetch(spec.name);
  }

  private async ensureVxlan(spec: VxlanSpec, existing: KernelLink | undefined, bridge: KernelLink): Promise<void> {
    const link = await this.ensureVxlanDevice(spec, existing);
    const changes: LinkChanges = {};
    if (link.mtu !== spec.mtu) changes.mtu = spec.mtu;
    if (link.master !== bridge.index) changes.master = bridge.index;
    if (!link.up) changes.up = true;
    await this.apply(link, changes);
    const port = await this.driver.bridgePortOptions(link);
    if (!port || port.learning !== WANTED_PORT.learning || port.neighSuppress !== WANTED_PORT.neighSuppress) {
      await this.driver.setBridgePortOptions(link, WANTED_PORT);
      this.log.info('set bridge port options', { device: spec.name, ...WANTED_PORT });
    }
  }

  // The external device L3 VNIs route through: no bridge, a MAC derived from the VTEP.
  private async ensureL3Device(spec: VxlanSpec, existing: KernelLink | undefined): Promise<void> {
    const link = await this.ensureVxlanDevice(spec, existing);
    const changes: LinkChanges = {};
    if (link.mtu !== spec.mtu) changes.mtu = spec.mtu;
    if (spec.mac && link.mac !== spec.mac) changes.mac = spec.mac;
    if (!link.up) changes.up = true;
    await this.apply(link, changes);
  }

  private fixedDifferences(spec: VxlanSpec, link: KernelLink): string[] {
    const v = link.vxlan;
    if (!v) return ['vxlan attributes unreadable'];
    const out: string[] = [];
    if (v.external !== spec.external) out.push(`external ${v.external} -> ${spec.external}`);
    if (!spec.external && v.id !== spec.vni) out.push(`id ${v.id} -> ${spec.vni}`);
    if (v.port !== spec.dstport) out.push(`dstport ${v.port} -> ${spec.dstport}`);
    if (v.local !== spec.local) out.push(`local ${v.local ?? 'none'} -> ${spec.local}`);
    if ((v.group ?? '') !== spec.group) out.push(`group ${v.group || 'none'} -> ${spec.group || 'none'}`);
    if (v.underlayIndex !== spec.underlayIndex) out.push(`dev ${v.underlayIndex ?? 'none'} -> ${spec.underlayIndex}`);
    if (v.learning) out.push('learning on -> off');
    return out;
  }

  private async apply(link: KernelLink, changes: LinkChanges): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    await this.driver.setLink(link, changes);
    this.log.info('changed device in place', { device: link.name, ...changes });
  }

  private async refetch(name: string): Promise<KernelLink> {
    const link = await this.driver.getLink(name);
    if (!link) throw new Error(`${name} vanished right after it was created`);
    return link;
  }
}
