import type { Logger } from '../../common/log';
import { NetlinkEvent, NetlinkNotifications, RTPROT_VXGOSSIP } from '../netlink';
import type { VniPorts } from './realised-vnis';
import { ownedVni } from './vni-devices';

export type Trigger = { pass: 'fdb' | 'full'; reason: string };

// What we follow: the devices of realised VNIs.
export interface Followed {
  ports: VniPorts[];
  l3Devices: number[];
}

// Our own writes also notify; only deletions of what we own, local (learned) MACs and our devices'
// link changes matter, so the agent never chases its own tail.
export function triggerFor(event: NetlinkEvent, followed: Followed): Trigger | undefined {
  const { ports, l3Devices } = followed;
  switch (event.kind) {
    case 'resync':
      return { pass: 'full', reason: 'kernel notifications were lost' };
    case 'link':
      return event.action === 'del' && ownedVni(event.link.alias) !== undefined
        ? { pass: 'full', reason: `${event.link.name} was deleted` }
        : undefined;
    case 'neigh': {
      const ours =
        ports.some((p) => p.bridgeIndex === event.neighbour.ifindex) || l3Devices.includes(event.neighbour.ifindex);
      const removed = event.action === 'del' && event.neighbour.protocol === RTPROT_VXGOSSIP && ours;
      return removed ? { pass: 'fdb', reason: `neighbour ${event.neighbour.ip} removed` } : undefined;
    }
    case 'route':
    case 'rule':
      return ourRouteOrRuleRemoved(event);
    case 'fdb': {
      const e = event.entry;
      const vxlan = ports.find((p) => p.vxlanIndex === e.ifindex);
      // On our vxlan port: a remote entry (self) or our extern_learn bridge entry was removed.
      if (vxlan)
        return event.action === 'del' && (e.dst !== undefined || e.externLearn)
          ? { pass: 'fdb', reason: `fdb ${e.mac} on vxlan${vxlan.vni} removed` }
          : undefined;
      // A MAC learned or aged on a local port of one of our bridges.
      const local =
        !e.self && !e.externLearn && e.state !== 'permanent' && ports.some((p) => p.bridgeIndex === e.master);
      return local
        ? { pass: 'fdb', reason: `local MAC ${e.mac} ${event.action === 'new' ? 'learned' : 'gone'}` }
        : undefined;
    }
    default:
      return undefined;
  }
}

function ourRouteOrRuleRemoved(event: Extract<NetlinkEvent, { kind: 'route' | 'rule' }>): Trigger | undefined {
  if (event.action !== 'del') return undefined;
  const [protocol, what] =
    event.kind === 'route'
      ? [event.route.protocol, `route ${event.route.dst}`]
      : [event.rule.protocol, `rule ${event.rule.priority}`];
  return protocol === RTPROT_VXGOSSIP ? { pass: 'fdb', reason: `${what} removed` } : undefined;
}

// Turns kernel notifications about what we follow into reconcile triggers.
export class KernelWatch {
  private readonly notifications: NetlinkNotifications;
  private followed: Followed = { ports: [], l3Devices: [] };

  constructor(trigger: (t: Trigger) => void, log: Logger) {
    this.notifications = new NetlinkNotifications(
      ['link', 'neigh', 'route', 'rule'],
      (event) => {
        const t = triggerFor(event, this.followed);
        if (t) trigger(t);
      },
      (err) => log.warn('undecodable kernel notification skipped', { error: err.message }),
    );
  }

  follow(ports: VniPorts[], l3Devices: number[]): void {
    this.followed = { ports, l3Devices };
  }

  close(): void {
    this.notifications.close();
  }
}
