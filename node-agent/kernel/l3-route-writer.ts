import type { Logger } from '../../common/log';
import type { EndpointRecord } from '../../common/fdb-state/winner-rule';
import { Neighbour, NetlinkError, RTPROT_VXGOSSIP, Route, Rtnetlink } from '../netlink';
import { RT_TABLE_MAIN } from '../netlink/constants';
import { KernelConflict, foreignNeighbour, foreignRoute } from './foreign-entries';
import { DesiredL3, LocalL3Endpoint, Sysctl, desiredL3, neighbourKey, routeKey } from './l3-desired';
import { vniOfTable } from './l3-domain';
import { L3RuleWriter, RulePassResult } from './l3-rule-writer';
import type { L3Vni } from './realised-vnis';
import { ensureSysctl } from './sysctl';

export type { LocalL3Endpoint } from './l3-desired';

export interface RoutePassResult {
  // Per VNI: routes and rules wanted, and those the kernel took.
  desired: Map<number, number>;
  programmed: Map<number, number>;
  removed: number;
  // Wanted, but the kernel holds a route or neighbour for the address that is not ours.
  conflicts: KernelConflict[];
}

const sameRoute = (a: Route, b: Route) =>
  (a.type ?? 'unicast') === (b.type ?? 'unicast') &&
  // A blackhole has no device (IPv6 reports lo).
  (a.type === 'blackhole' || a.oif === b.oif) &&
  (a.encap?.id ?? -1n) === (b.encap?.id ?? -1n) &&
  (a.encap?.dst ?? '') === (b.encap?.dst ?? '') &&
  !!a.encap?.csum === !!b.encap?.csum;

// Where our routes may be: the VNI tables, and main, where versions before routing domains put them.
const ourTable = (table: number | undefined) => table === RT_TABLE_MAIN || vniOfTable(table) !== undefined;

// L3 mode, as the kernel's lightweight tunnels do it, one routing domain per VNI (see l3-domain.ts and
// l3-desired.ts): routes in the VNI's table, neighbours for the remote devices' MACs, proxy entries for
// the IPv6 gateway and the rules that steer into each table. Only our routes, neighbours and rules
// (protocol tag) are ever written over or removed: where the kernel holds a route or neighbour that is
// not ours for an address, ours is not written and the conflict is reported.
export class L3RouteWriter {
  // A sweep without L3 VNIs (or orphaned endpoints) left none of our routes, neighbours or rules, and
  // only we add them: until that changes, a pass on a host without L3 VNIs reads no routing table.
  private sweptClean = false;
  private readonly rules: L3RuleWriter;

  constructor(
    private readonly rt: Rtnetlink,
    private readonly log: Logger,
    // Returns true when it changed the value; a test passes its own to keep the host's sysctls.
    private readonly setSysctl: (path: string, value: string) => boolean = ensureSysctl,
  ) {
    this.rules = new L3RuleWriter(rt);
  }

  // orphans: veths of attached endpoints whose VNI is not realised here.
  async reconcile(
    vnis: L3Vni[],
    local: LocalL3Endpoint[],
    remote: EndpointRecord[],
    sweep: boolean,
    orphans: string[] = [],
  ): Promise<RoutePassResult> {
    const result: RoutePassResult = { desired: new Map(), programmed: new Map(), removed: 0, conflicts: [] };
    const idle = vnis.length === 0 && orphans.length === 0;
    if (idle && (!sweep || this.sweptClean)) return result;
    const wanted = desiredL3(vnis, local, remote, orphans);
    for (const s of wanted.sysctls) this.sysctl(s);
    const kernel = await this.read(vnis);
    for (const r of wanted.routes.values()) {
      const found = kernel.foreignRoutes.get(routeKey(r));
      if (found) result.conflicts.push({ vni: r.vni, kind: 'route', address: r.dst, found });
    }
    for (const [key, n] of wanted.neighbours) {
      const found = kernel.foreignNeighbours.get(key);
      if (found) result.conflicts.push({ vni: n.vni, kind: 'neigh', address: n.ip, found });
    }
    const errors: Error[] = [];
    const failed = new Map<number, number>();
    const count = (vni: number, n = 1) => failed.set(vni, (failed.get(vni) ?? 0) + n);
    const run = (what: string, p: Promise<void>, vni?: number) =>
      p.catch((err: Error) => {
        if (NetlinkError.codeOf(err) === 'ENOENT' || NetlinkError.codeOf(err) === 'ESRCH') return;
        errors.push(new Error(`${what}: ${err.message}`));
        if (vni !== undefined) count(vni);
      });
    const changes = this.changes(wanted, kernel, sweep);
    await Promise.all([
      ...changes.setNeighbours.map((n) => run('neighbour', this.rt.neighbours.add(n, 'replace'))),
      ...changes.staleNeighbours.map((n) => run('neighbour', this.rt.neighbours.delete(n))),
    ]);
    // Routes before rules: a table is complete (down to its blackhole default) before traffic is steered in.
    await Promise.all([
      ...changes.setRoutes.map((r) => run('route', this.rt.routes.add(r, 'replace'), r.vni)),
      ...changes.staleRoutes.map((r) =>
        run(
          'route',
          this.rt.routes.delete({ dst: r.dst, table: r.table, type: r.type, oif: r.oif, protocol: RTPROT_VXGOSSIP }),
        ),
      ),
    ]);
    const rules = await this.rules.reconcile(wanted.rules, sweep);
    errors.push(...rules.errors);
    for (const [vni, n] of rules.failed) count(vni, n);
    result.removed = changes.staleRoutes.length + changes.staleNeighbours.length + rules.removed;
    this.sweptClean = idle && errors.length === 0;
    if (errors.length > 0)
      this.log.error('kernel refused route changes', { failed: errors.length, first: errors[0].message });
    this.logChanges(changes, rules);
    for (const c of result.conflicts) if (c.kind === 'route') count(c.vni);
    tally(result, wanted, failed);
    return result;
  }

  // What differs: what to write and, once sweeping is allowed, what of ours to remove.
  private changes(wanted: DesiredL3, kernel: KernelL3, sweep: boolean) {
    const setRoutes = [...wanted.routes].filter(([key, r]) => {
      const k = kernel.routes.get(key);
      return !kernel.foreignRoutes.has(key) && (!k || !sameRoute(k, r));
    });
    const setNeighbours = [
      ...[...wanted.neighbours].filter(
        ([key, n]) => !kernel.foreignNeighbours.has(key) && kernel.neighbours.get(key)?.mac !== n.mac,
      ),
      ...[...wanted.proxies].filter(([key]) => !kernel.proxies.has(key)),
    ];
    const stale = <T>(mine: Map<string, T>, ...desired: Array<Map<string, unknown>>) =>
      sweep ? [...mine].filter(([key]) => !desired.some((d) => d.has(key))).map(([, x]) => x) : [];
    return {
      setRoutes: setRoutes.map(([, r]) => r),
      setNeighbours: setNeighbours.map(([, n]) => n),
      staleRoutes: stale(kernel.routes, wanted.routes),
      staleNeighbours: [...stale(kernel.neighbours, wanted.neighbours), ...stale(kernel.proxies, wanted.proxies)],
    };
  }

  private logChanges(changes: ReturnType<L3RouteWriter['changes']>, rules: RulePassResult): void {
    const counts = {
      routesSet: changes.setRoutes.length,
      routesRemoved: changes.staleRoutes.length,
      neighboursSet: changes.setNeighbours.length,
      neighboursRemoved: changes.staleNeighbours.length,
      rulesAdded: rules.added,
      rulesRemoved: rules.removed,
    };
    if (Object.values(counts).some((n) => n > 0)) this.log.debug('route pass', counts);
  }

  // Our routes (VNI tables and main), neighbours on the L3 devices and IPv6 proxy entries; and what
  // holds routes in the VNI tables (by table and prefix) and neighbours (by device/address) that is
  // not ours.
  private async read(vnis: L3Vni[]): Promise<KernelL3> {
    const out: KernelL3 = {
      routes: new Map(),
      neighbours: new Map(),
      proxies: new Map(),
      foreignRoutes: new Map(),
      foreignNeighbours: new Map(),
    };
    for (const family of [4, 6] as const) {
      for (const r of await this.rt.routes.list(family)) {
        if (!ourTable(r.table)) continue;
        if (r.protocol === RTPROT_VXGOSSIP) out.routes.set(routeKey(r), r);
        const found = vniOfTable(r.table) === undefined ? undefined : foreignRoute(r);
        if (found) out.foreignRoutes.set(routeKey(r), found);
      }
      for (const device of new Set(vnis.map((v) => v.deviceIndex))) {
        for (const n of await this.rt.neighbours.list(family, device)) {
          const found = foreignNeighbour(n);
          if (n.protocol === RTPROT_VXGOSSIP) out.neighbours.set(neighbourKey(n), n);
          else if (found) out.foreignNeighbours.set(neighbourKey(n), found);
        }
      }
    }
    for (const p of await this.rt.neighbours.list(6, undefined, true))
      if (p.protocol === RTPROT_VXGOSSIP) out.proxies.set(neighbourKey(p), p);
    return out;
  }

  private sysctl(s: Sysctl): void {
    try {
      if (this.setSysctl(s.path, s.value)) this.log.info('set sysctl for L3 routing', { path: s.path, value: s.value });
    } catch (err) {
      if (s.fallback && (err as NodeJS.ErrnoException).code === 'ENOENT') return this.sysctl(s.fallback);
      this.log.error('cannot set a sysctl L3 routing needs', { path: s.path, error: (err as Error).message });
    }
  }
}

// Per VNI: the routes and rules it wants, and those the kernel holds (all but the failed ones).
function tally(result: RoutePassResult, wanted: DesiredL3, failed: Map<number, number>): void {
  for (const x of [...wanted.routes.values(), ...wanted.rules])
    if (x.vni !== 0) result.desired.set(x.vni, (result.desired.get(x.vni) ?? 0) + 1);
  for (const [vni, n] of result.desired) result.programmed.set(vni, n - (failed.get(vni) ?? 0));
}

interface KernelL3 {
  routes: Map<string, Route>;
  neighbours: Map<string, Neighbour>;
  proxies: Map<string, Neighbour>;
  foreignRoutes: Map<string, string>;
  foreignNeighbours: Map<string, string>;
}
