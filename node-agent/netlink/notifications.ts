import * as C from './constants';
import { FdbEntry, decodeFdb } from './fdb';
import { Link, decodeLink } from './link';
import { NetlinkMessage } from './message';
import { Neighbour, decodeNeighbour } from './neigh';
import { Route, decodeRoute } from './route';
import { Rule, decodeRule } from './rule';
import { NetlinkSocket } from './socket';
import { NetlinkError } from './errors';

export type NetlinkEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'fdb'; action: 'new' | 'del'; entry: FdbEntry }
  | { kind: 'neigh'; action: 'new' | 'del'; neighbour: Neighbour }
  | { kind: 'route'; action: 'new' | 'del'; route: Route }
  | { kind: 'rule'; action: 'new' | 'del'; rule: Rule }
  // The kernel dropped notifications (ENOBUFS): whatever we track must be re-read with a dump.
  | { kind: 'resync'; reason: string };

export type NotificationGroup = 'link' | 'neigh' | 'route' | 'rule';

const GROUPS: Record<NotificationGroup, number[]> = {
  link: [C.RTNLGRP_LINK],
  neigh: [C.RTNLGRP_NEIGH],
  route: [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE],
  rule: [C.RTNLGRP_IPV4_RULE, C.RTNLGRP_IPV6_RULE],
};

export function decodeEvent(m: NetlinkMessage): NetlinkEvent | undefined {
  switch (m.type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      return { kind: 'link', action: m.type === C.RTM_NEWLINK ? 'new' : 'del', link: decodeLink(m.payload) };
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH: {
      const action = m.type === C.RTM_NEWNEIGH ? 'new' : 'del';
      if (m.payload[0] === C.AF_BRIDGE) return { kind: 'fdb', action, entry: decodeFdb(m.payload) };
      return { kind: 'neigh', action, neighbour: decodeNeighbour(m.payload) };
    }
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      return { kind: 'route', action: m.type === C.RTM_NEWROUTE ? 'new' : 'del', route: decodeRoute(m.payload) };
    case C.RTM_NEWRULE:
    case C.RTM_DELRULE:
      return { kind: 'rule', action: m.type === C.RTM_NEWRULE ? 'new' : 'del', rule: decodeRule(m.payload) };
    default:
      return undefined;
  }
}

// A socket subscribed to kernel change notifications, delivering typed events. Undecodable
// messages are reported through onError and skipped; they never stop the stream.
export class NetlinkNotifications {
  private readonly socket: NetlinkSocket;

  constructor(
    groups: NotificationGroup[],
    onEvent: (event: NetlinkEvent) => void,
    onError: (err: Error) => void,
    options: { netns?: string; receiveBuffer?: number } = {},
  ) {
    this.socket = new NetlinkSocket({ groups: groups.flatMap((g) => GROUPS[g]), ...options });
    this.socket.onNotification((m) => {
      let event: NetlinkEvent | undefined;
      try {
        event = decodeEvent(m);
      } catch (err) {
        onError(err as Error);
        return;
      }
      if (event) onEvent(event);
    });
    this.socket.onProblem((err) => {
      if (NetlinkError.codeOf(err) === 'ENOBUFS') onEvent({ kind: 'resync', reason: err.message });
      else onError(err);
    });
  }

  close(): void {
    this.socket.close();
  }
}
