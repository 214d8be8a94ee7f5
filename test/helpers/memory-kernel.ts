import type { FdbEntry, Link, Neighbour, Route, Rtnetlink, Rule, WriteMode } from '../../node-agent/netlink';

// Entries as stored: the port's own (self, per dst) or the bridge's (one per MAC).
const fdbKey = (e: FdbEntry) => `${e.ifindex}|${e.mac}|${e.self ? `self>${e.dst ?? ''}` : 'bridge'}`;
// Where a request goes, as the kernel routes it: NTF_MASTER to the bridge's table, anything else
// (NTF_SELF, also iproute2's default) to the port's own.
const addressedKey = (e: FdbEntry) => `${e.ifindex}|${e.mac}|${e.masterFlag ? 'bridge' : `self>${e.dst ?? ''}`}`;
const addressed = (e: FdbEntry) => (e.masterFlag ? 'bridge' : (e.dst ?? 'self'));
const neighKey = (n: Neighbour) => `${n.ifindex}|${n.ip}`;
const routeKey = (r: Route) => `${r.table ?? 254}|${r.dst}`;
const familyOf = (ip: string) => (ip.includes(':') ? 6 : 4);
// A rule by everything it selects and does, as the kernel tells identical rules apart.
const ruleKey = (r: Rule) =>
  [r.family, r.priority, r.action, r.table, r.iif, r.tunId, r.dst, r.protocol].map((x) => x ?? '').join('|');

// The slice of rtnetlink the writers use, in memory, as the kernel would keep it: vxlan entries per
// (MAC, dst) with replace re-pointing a unicast MAC, bridge entries per MAC, neighbours and proxy
// entries per address, routes per table and prefix, policy rules, links by name. Every write is
// logged so a test can tell an idle pass.
export class MemoryKernel {
  readonly fdbEntries = new Map<string, FdbEntry>();
  readonly neighbourEntries = new Map<string, Neighbour>();
  readonly proxyEntries = new Map<string, Neighbour>();
  // By table|prefix.
  readonly routeEntries = new Map<string, Route>();
  readonly ruleEntries = new Map<string, Rule>();
  readonly linksByName = new Map<string, Link>();
  readonly writes: string[] = [];

  readonly fdb = {
    list: async (ifindex?: number) =>
      [...this.fdbEntries.values()].filter((e) => ifindex === undefined || e.ifindex === ifindex),
    addMany: async (entries: FdbEntry[], mode: WriteMode = 'add') => entries.map((e) => this.addFdb(e, mode)),
    deleteMany: async (entries: FdbEntry[]) =>
      entries.map((e) => this.remove(this.fdbEntries, addressedKey(e), `fdb del ${e.mac}>${addressed(e)}`)),
  };

  readonly neighbours = {
    list: async (family: 4 | 6, ifindex?: number, proxy = false) =>
      [...(proxy ? this.proxyEntries : this.neighbourEntries).values()].filter(
        (n) => familyOf(n.ip) === family && (ifindex === undefined || n.ifindex === ifindex),
      ),
    add: async (n: Neighbour) => void this.setNeighbour(n),
    addMany: async (list: Neighbour[]) => list.map((n) => this.setNeighbour(n)),
    delete: async (n: Neighbour) =>
      this.throwing(this.remove(n.proxy ? this.proxyEntries : this.neighbourEntries, neighKey(n), `neigh del ${n.ip}`)),
    deleteMany: async (list: Neighbour[]) =>
      list.map((n) => this.remove(this.neighbourEntries, neighKey(n), `neigh del ${n.ip}`)),
  };

  readonly routes = {
    list: async (family: 4 | 6) =>
      [...this.routeEntries.values()].filter((r) => familyOf(r.dst) === family).map((r) => ({ table: 254, ...r })),
    add: async (r: Route) => {
      this.writes.push(`route set ${routeKey(r)}`);
      this.routeEntries.set(routeKey(r), r);
    },
    delete: async (r: Route) => this.throwing(this.remove(this.routeEntries, routeKey(r), `route del ${routeKey(r)}`)),
  };

  readonly rules = {
    list: async (family: 4 | 6) => [...this.ruleEntries.values()].filter((r) => r.family === family),
    add: async (r: Rule) => {
      if (this.ruleEntries.has(ruleKey(r))) throw Object.assign(new Error('rule: EEXIST'), { code: 'EEXIST' });
      this.writes.push(`rule add ${ruleKey(r)}`);
      this.ruleEntries.set(ruleKey(r), r);
    },
    delete: async (r: Rule) => this.throwing(this.remove(this.ruleEntries, ruleKey(r), `rule del ${ruleKey(r)}`)),
  };

  readonly links = {
    get: async (name: string) => this.linksByName.get(name),
    list: async () => [...this.linksByName.values()],
    change: async (link: Link, changes: { master?: number; up?: boolean }) => {
      this.writes.push(`link ${link.name} ${JSON.stringify(changes)}`);
      this.linksByName.set(link.name, { ...this.linksByName.get(link.name)!, ...changes });
    },
  };

  // Typed as the real thing for the code under test, which uses only what is above.
  get rt(): Rtnetlink {
    return this as unknown as Rtnetlink;
  }

  private addFdb(e: FdbEntry, mode: WriteMode): Error | undefined {
    // The bridge's entries come back from a dump as the kernel reports them: no NTF_MASTER flag.
    const stored: FdbEntry = e.masterFlag
      ? { ifindex: e.ifindex, mac: e.mac, externLearn: e.externLearn, self: false }
      : { ...e, self: true };
    if (mode === 'replace' && e.dst !== undefined) {
      for (const [k, old] of this.fdbEntries)
        if (old.ifindex === e.ifindex && old.mac === e.mac && old.dst !== undefined) this.fdbEntries.delete(k);
    }
    if (mode === 'add' && this.fdbEntries.has(fdbKey(stored)))
      return Object.assign(new Error(`fdb ${e.mac}: EEXIST`), { code: 'EEXIST' });
    this.writes.push(`fdb ${mode} ${e.mac}>${addressed(e)}`);
    this.fdbEntries.set(fdbKey(stored), stored);
    return undefined;
  }

  private setNeighbour(n: Neighbour): undefined {
    this.writes.push(`${n.proxy ? 'proxy' : 'neigh'} set ${n.ip}`);
    (n.proxy ? this.proxyEntries : this.neighbourEntries).set(neighKey(n), n);
    return undefined;
  }

  private remove<V>(map: Map<string, V>, key: string, what: string): Error | undefined {
    if (!map.delete(key)) return Object.assign(new Error(`${what}: ENOENT`), { code: 'ENOENT' });
    this.writes.push(what);
    return undefined;
  }

  private throwing(err: Error | undefined): void {
    if (err) throw err;
  }
}
