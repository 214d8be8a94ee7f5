import type { Logger } from '../../common/log';
import { NetlinkEvent, NetlinkNotifications, RTPROT_VXGOSSIP } from '../netlink';
import type { VniPorts } from './realised-vnis';
import { ownedVni } from './vni-devices';

export interface KernelWatchTriggers {
  // An entry we own went away, or a local MAC appeared or left: a quick FDB pass.
  fdb(reason: string): void;
  // One of our devices changed or the notification stream lost messages: a full pass.
  full(reason: string): void;
}

// Turns kernel notifications into reconcile triggers. Our own writes also notify; only deletions of
// what we own, local (learned) MACs and our devices' link changes matter, so the agent never chases
// its own tail.
export class KernelWatch {
  private readonly notifications: NetlinkNotifications;
  private ports: VniPorts[] = [];
  private l3Devices: number[] = [];

  constructor(triggers: KernelWatchTriggers, log: Logger) {
    this.notifications = new NetlinkNotifications(
      ['link', 'neigh', 'route'],
      (event) => this.onEvent(event, triggers),
      (err) => log.warn('undecodable kernel notification skipped', { error: err.message }),
    );
  }

  follow(ports: VniPorts[], l3Devices: number[]): void {
    this.ports = ports;
    this.l3Devices = l3Devices;
  }

  close(): void {
    this.notifications.close();
  }

  private onEvent(event: NetlinkEvent, triggers: KernelWatchTriggers): void {
    switch (event.kind) {
      case 'resync':
        triggers.full('kernel notifications were lost');
        return;
      case 'link':
        if (event.action === 'del' && ownedVni(event.link.alias) !== undefined) triggers.full(`${event.link.name} was deleted`);
        return;
      case 'neigh':
        const ours = this.ports.some((p) => p.bridgeIndex === event.neighbour.ifindex) || this.l3Devices.includes(event.neighbour.ifindex);
        if (event.action === 'del' && event.neighbour.protocol === RTPROT_VXGOSSIP && ours) {
          triggers.fdb(`neighbour ${event.neighbour.ip} removed`);
        }
        return;
      case 'route':
        if (event.action === 'del' && event.route.protocol === RTPROT_VXGOSSIP) triggers.fdb(`route ${event.route.dst} removed`);
        return;
      case 'fdb': {
        const e = event.entry;
        const vxlan = this.ports.find((p) => p.vxlanIndex === e.ifindex);
        if (vxlan) {
          // On our vxlan port: a remote entry (self) or our extern_learn bridge entry was removed.
          if (event.action === 'del' && (e.dst !== undefined || e.externLearn)) triggers.fdb(`fdb ${e.mac} on vxlan${vxlan.vni} removed`);
          return;
        }
        // A MAC learned or aged on a local port of one of our bridges.
        if (!e.self && !e.externLearn && e.state !== 'permanent' && this.ports.some((p) => p.bridgeIndex === e.master)) {
          triggers.fdb(`local MAC ${e.mac} ${event.action === 'new' ? 'learned' : 'gone'}`);
        }
        return;
      }
      default:
        return;
    }
  }
}
