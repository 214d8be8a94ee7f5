import { AddressOps } from './addr';
import { FdbOps } from './fdb';
import { LinkOps } from './link';
import { NeighbourOps } from './neigh';
import { RouteOps } from './route';
import { RuleOps } from './rule';
import { NetlinkSocket, SocketOptions } from './socket';

// One rtnetlink request socket with an API per object. Open one per network namespace.
export class Rtnetlink {
  readonly links: LinkOps;
  readonly fdb: FdbOps;
  readonly neighbours: NeighbourOps;
  readonly routes: RouteOps;
  readonly rules: RuleOps;
  readonly addresses: AddressOps;

  constructor(readonly socket: NetlinkSocket) {
    this.links = new LinkOps(socket);
    this.fdb = new FdbOps(socket);
    this.neighbours = new NeighbourOps(socket);
    this.routes = new RouteOps(socket);
    this.rules = new RuleOps(socket);
    this.addresses = new AddressOps(socket);
  }

  static open(options: Omit<SocketOptions, 'groups'> = {}): Rtnetlink {
    return new Rtnetlink(new NetlinkSocket(options));
  }

  close(): void {
    this.socket.close();
  }
}
