import type { Logger } from '../../common/log';
import type { EndpointRecord } from '../../common/fdb-state/winner-rule';
import { Neighbour, RTPROT_VXGOSSIP, Route, Rtnetlink, NetlinkError } from '../netlink';
import { KernelConflict, foreignNeighbour, foreignRoute } from './foreign-entries';
import type { L3Vni } from './realised-vnis';
import { ensureSysctl } from './sysctl';
import { l3RouterMac } from './vni-devices';

// An endpoint attached on this host to an L3 VNI: routed to through its veth.
export interface LocalL3Endpoint {
  vni: number;
  ip: string;
  hostIfindex: number;
  hostInterface: string;
}

export interface RoutePassResult {
  // Per VNI: routes wanted, and routes the kernel took.
  desired: Map<number, number>;
  programmed: Map<number, number>;
  removed: number;
  // Wanted, but the kernel holds a route or neighbour for the address that is not ours.
  conflicts: KernelConflict[];
}

const routeKey = (r: Route) => r.dst;
const sameRoute = (a: Route, b: Route) =>
  a.oif === b.oif && (a.encap?.id ?? -1n) === (b.encap?.id ?? -1n) && (a.encap?.dst ?? '') === (b.encap?.dst ?? '');

// L3 mode, as the kernel's lightweight tunnels do it: a remote endpoint is a /32 route with
// `encap ip id <VNI> dst <VTEP>` over the external device, plus a neighbour entry so the routed
// frame is addressed to the remote device's MAC (derived from its VTEP); a local endpoint is a /32 route to its
// veth, whose host side answers ARP for the rest of the subnet (proxy ARP). Only our routes and
// neighbours (protocol tag) are ever written over or removed: where the kernel holds one that is not
// ours for an address, ours is not written and the conflict is reported.
export class L3RouteWriter {
  // A sweep without L3 VNIs left none of our routes or neighbours, and only we add them: until an L3
  // VNI is realised again, a pass on a host without L3 VNIs reads no routing table.
  private sweptClean = false;

  constructor(
    private readonly rt: Rtnetlink,
    private readonly log: Logger,
    // Returns true when it changed the value; a test passes its own to keep the host's sysctls.
    private readonly setSysctl: (path: string, value: string) => boolean = ensureSysctl,
  ) {}

  async reconcile(
    vnis: L3Vni[],
    local: LocalL3Endpoint[],
    remote: EndpointRecord[],
    sweep: boolean,
  ): Promise<RoutePassResult> {
    const result: RoutePassResult = { desired: new Map(), programmed: new Map(), removed: 0, conflicts: [] };
    if (vnis.length === 0 && (!sweep || this.sweptClean)) return result;
    const { routes, neighbours } = this.wanted(vnis, local, remote);
    const { kernelRoutes, kernelNeighbours, foreignRoutes, foreignNeighbours } = await this.read(vnis);
    for (const r of routes.values()) {
      const found = foreignRoutes.get(r.dst);
      if (found) result.conflicts.push({ vni: r.vni, kind: 'route', address: r.dst, found });
    }
    for (const [key, n] of neighbours) {
      const found = foreignNeighbours.get(key);
      if (found) result.conflicts.push({ vni: n.vni, kind: 'neigh', address: n.ip, found });
    }
    const setRoutes = [...routes.values()].filter((r) => {
      const k = kernelRoutes.get(r.dst);
      return !foreignRoutes.has(r.dst) && (!k || !sameRoute(k, r));
    });
    const setNeighbours = [...neighbours]
      .filter(([key, n]) => !foreignNeighbours.has(key) && kernelNeighbours.get(key)?.mac !== n.mac)
      .map(([, n]) => n);
    const staleRoutes = sweep ? [...kernelRoutes.values()].filter((r) => !routes.has(r.dst)) : [];
    const staleNeighbours = sweep ? [...kernelNeighbours].filter(([k]) => !neighbours.has(k)).map(([, n]) => n) : [];

    const errors: Error[] = [];
    const failedRoutes = new Map<number, number>();
    const run = async (what: string, p: Promise<void>, vni?: number) =>
      p.catch((err: Error) => {
        if (NetlinkError.codeOf(err) === 'ENOENT' || NetlinkError.codeOf(err) === 'ESRCH') return;
        errors.push(new Error(`${what}: ${err.message}`));
        if (vni !== undefined) failedRoutes.set(vni, (failedRoutes.get(vni) ?? 0) + 1);
      });
    await Promise.all([
      ...setNeighbours.map((n) => run('neighbour', this.rt.neighbours.add(n, 'replace'))),
      ...staleNeighbours.map((n) => run('neighbour', this.rt.neighbours.delete(n))),
    ]);
    await Promise.all([
      ...setRoutes.map((r) => run('route', this.rt.routes.add(r, 'replace'), r.vni)),
      ...staleRoutes.map((r) =>
        run('route', this.rt.routes.delete({ dst: r.dst, oif: r.oif, protocol: RTPROT_VXGOSSIP })),
      ),
    ]);
    result.removed = staleRoutes.length + staleNeighbours.length;
    this.sweptClean = vnis.length === 0 && errors.length === 0;
    if (errors.length > 0)
      this.log.error('kernel refused route changes', { failed: errors.length, first: errors[0].message });
    if (setRoutes.length + staleRoutes.length + setNeighbours.length + staleNeighbours.length > 0) {
      this.log.debug('route pass', {
        routesSet: setRoutes.length,
        routesRemoved: staleRoutes.length,
        neighboursSet: setNeighbours.length,
        neighboursRemoved: staleNeighbours.length,
      });
    }
    for (const c of result.conflicts)
      if (c.kind === 'route') failedRoutes.set(c.vni, (failedRoutes.get(c.vni) ?? 0) + 1);
    for (const r of routes.values()) result.desired.set(r.vni, (result.desired.get(r.vni) ?? 0) + 1);
    for (const [vni, n] of result.desired) result.programmed.set(vni, n - (failedRoutes.get(vni) ?? 0));
    return result;
  }

  // The routes and neighbours the endpoints call for (and the sysctls they need).
  private wanted(vnis: L3Vni[], local: LocalL3Endpoint[], remote: EndpointRecord[]) {
    const byVni = new Map(vnis.map((v) => [v.vni, v]));
    const routes = new Map<string, Route & { vni: number }>();
    const neighbours = new Map<string, Neighbour & { vni: number }>();
    for (const e of local) {
      if (!byVni.has(e.vni)) continue;
      const ip = e.ip.split('/')[0];
      if (ip.includes(':')) continue;
      routes.set(`${ip}/32`, {
        vni: e.vni,
        dst: `${ip}/32`,
        oif: e.hostIfindex,
        scope: 'link',
        protocol: RTPROT_VXGOSSIP,
      });
      this.sysctl(`net.ipv4.conf.${e.hostInterface}.proxy_arp`, '1');
      // Proxy ARP replies are otherwise delayed up to 0.8 s.
      this.sysctl(`net.ipv4.neigh.${e.hostInterface}.proxy_delay`, '0');
    }
    for (const r of remote) {
      const l3 = byVni.get(r.body.vni);
      if (!l3) continue;
      for (const cidr of r.body.ips) {
        const ip = cidr.split('/')[0];
        if (ip.includes(':')) continue;
        routes.set(`${ip}/32`, {
          vni: r.body.vni,
          dst: `${ip}/32`,
          oif: l3.deviceIndex,
          scope: 'link',
          protocol: RTPROT_VXGOSSIP,
          encap: { id: BigInt(r.body.vni), dst: r.body.vtep },
        });
        neighbours.set(`${l3.deviceIndex}/${ip}`, {
          vni: r.body.vni,
          ifindex: l3.deviceIndex,
          ip,
          mac: l3RouterMac(r.body.vtep),
          state: 'permanent',
          protocol: RTPROT_VXGOSSIP,
        });
      }
    }
    if (vnis.length > 0) this.sysctl('net.ipv4.ip_forward', '1');
    return { routes, neighbours };
  }

  // Our routes in the main table and our neighbours on the L3 devices; and what holds the routes
  // (by prefix) and neighbours (by device/address) there that are not ours.
  private async read(vnis: L3Vni[]) {
    const main = (await this.rt.routes.list(4)).filter((r) => r.table === 254);
    const kernelRoutes = new Map(main.filter((r) => r.protocol === RTPROT_VXGOSSIP).map((r) => [routeKey(r), r]));
    const foreignRoutes = new Map<string, string>();
    for (const r of main) {
      const found = foreignRoute(r);
      if (found) foreignRoutes.set(routeKey(r), found);
    }
    const kernelNeighbours = new Map<string, Neighbour>();
    const foreignNeighbours = new Map<string, string>();
    for (const v of vnis) {
      for (const n of await this.rt.neighbours.list(4, v.deviceIndex)) {
        const found = foreignNeighbour(n);
        if (n.protocol === RTPROT_VXGOSSIP) kernelNeighbours.set(`${n.ifindex}/${n.ip}`, n);
        else if (found) foreignNeighbours.set(`${n.ifindex}/${n.ip}`, found);
      }
    }
    return { kernelRoutes, kernelNeighbours, foreignRoutes, foreignNeighbours };
  }

  private sysctl(path: string, value: string): void {
    try {
      if (this.setSysctl(path, value)) this.log.info('set sysctl for L3 routing', { path, value });
    } catch (err) {
      this.log.error('cannot set a sysctl L3 routing needs', { path, error: (err as Error).message });
    }
  }
}
