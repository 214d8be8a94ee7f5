import type { LabHost } from '../../lab/network';
import { AGENT_METRICS_PORT, AttackCluster } from './attack-cluster';
import { metricValue } from './refusal-metrics';

// Everything an attack could change, as sorted text lines per part ("h1 fdb", "server endpoints"):
// what the kernel of every host forwards, what every agent holds, what the server stores and serves.
// Only what the control plane decides is kept: timers, ages, counters and what the kernel learns
// from traffic on its own are left out, so two snapshots of a quiet cluster are equal.
export type ClusterSnapshot = Record<string, string[]>;

const json = (host: LabHost, command: string, args: string[]): any[] => {
  const out = host.exec(command, args).trim();
  return out === '' ? [] : (JSON.parse(out) as any[]);
};

function links(host: LabHost): string[] {
  return json(host, 'ip', ['-j', '-d', 'link', 'show'])
    .filter((l) => l.ifname !== 'lo')
    .map((l) => {
      const kind = l.linkinfo?.info_kind ?? l.link_type;
      const vx = kind === 'vxlan' ? l.linkinfo.info_data : undefined;
      const vxlan = vx ? ` id=${vx.id} local=${vx.local} port=${vx.port} learning=${vx.learning}` : '';
      return `${l.ifname} ${kind} master=${l.master ?? '-'} mtu=${l.mtu} ${l.operstate} ${l.address}${vxlan}`;
    });
}

// Entries the bridge learns from traffic by itself (no state, not extern_learn) come and go with the
// pings; every other entry is programmed by the agent or the kernel's own.
function fdb(host: LabHost): string[] {
  return json(host, 'bridge', ['-j', 'fdb', 'show'])
    .filter((e) => e.state !== '' || (e.flags as string[]).includes('extern_learn') || e.dst !== undefined)
    .map((e) => `${e.ifname} ${e.mac} dst=${e.dst ?? '-'} ${(e.flags as string[]).join(',')} ${e.state}`);
}

// The underlay's ARP entries age by themselves; the overlay's are the agent's.
function neighbours(host: LabHost): string[] {
  return json(host, 'ip', ['-j', 'neigh', 'show'])
    .filter((n) => n.dev !== 'eth0')
    .map((n) => `${n.dev} ${n.dst} ${n.lladdr ?? '-'} ${(n.state as string[]).join(',')}`);
}

function agentView(c: AttackCluster, host: LabHost): string[] {
  const text = c.scrape(host, AGENT_METRICS_PORT);
  return ['vxgossip_gossip_records', 'vxgossip_fdb_desired_entries'].map(
    (name) => `${name} ${metricValue(text, name) ?? 'absent'}`,
  );
}

function serverView(c: AttackCluster): ClusterSnapshot {
  const endpoints = c
    .ctlJson<any[]>('endpoint', 'list')
    .map(
      (e) =>
        `${e.vni} ${e.mac} node=${e.node} vtep=${e.vtep} ips=${e.ips.join(',')} seq=${e.mobilitySeq} ` +
        `frozen=${e.frozen} v=${e.version?.incarnation}.${e.version?.counter}`,
    );
  const served = c
    .ctlJson<any[]>('fdb', 'show')
    .map(
      (e) =>
        `${e.vni} ${e.mac} node=${e.node} vtep=${e.vtep} ${e.kind} seq=${e.mobilitySeq} frozen=${e.frozen} ` +
        `v=${e.version?.incarnation}.${e.version?.counter}`,
    );
  const nodes = c.ctlJson<any[]>('node', 'list').map((n) => {
    const counts = (n.programming as any[]).map((p) => `${p.vni}:${p.programmed}/${p.desired}`).join(',');
    return (
      `${n.name} vtep=${n.vtep} ${n.state} connected=${n.connected} version=${n.agentVersion} ` +
      `incarnation=${n.incarnation} gossip=${n.gossipAddress} config=${n.configRevision} vnis=${n.vnis.join(',')} ` +
      `programmed=${counts}`
    );
  });
  return { 'server endpoints': endpoints, 'server fdb': served, 'server nodes': nodes };
}

export function snapshot(c: AttackCluster): ClusterSnapshot {
  const s: ClusterSnapshot = serverView(c);
  for (const h of c.hosts) {
    s[`${h.name} links`] = links(h);
    s[`${h.name} fdb`] = fdb(h);
    s[`${h.name} neighbours`] = neighbours(h);
    s[`${h.name} agent`] = agentView(c, h);
  }
  for (const key of Object.keys(s)) s[key].sort();
  return s;
}

// What changed, one line per part: "h1 links: -vxlan42 ..., +...". Empty when nothing did.
export function snapshotDiff(before: ClusterSnapshot, after: ClusterSnapshot): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = new Set(before[key] ?? []);
    const a = new Set(after[key] ?? []);
    const removed = [...b].filter((l) => !a.has(l)).map((l) => `-${l}`);
    const added = [...a].filter((l) => !b.has(l)).map((l) => `+${l}`);
    if (removed.length + added.length > 0)
      out.push(`${key} (${b.size} → ${a.size} lines): ${[...removed, ...added].join(' | ')}`);
  }
  return out;
}
