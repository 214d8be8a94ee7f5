// Part (a) of bench/l3-datapaths.ts: programming N remote endpoints of one L3 VNI, as the agent does
// it on each datapath. LWT: the L3 route writer over our rtnetlink module (a /32 lightweight-tunnel
// route and a neighbour per endpoint, in the VNI's table) in a namespace of its own. BPF: our map API
// (syncMap) into the datapath's remote_eps map, pinned in a BPF filesystem of the bench's own.
import * as path from 'node:path';
import { createLogger } from '../common/log';
import type { EndpointRecord } from '../common/fdb-state/winner-rule';
import type { LabNetwork } from '../lab/network';
import { BpfDatapath, MapEntry, removePins, syncMap } from '../node-agent/bpf';
import type { EndpointKey, RemoteEndpoint } from '../node-agent/bpf/map-codec';
import { L3RouteWriter } from '../node-agent/kernel/l3-route-writer';
import type { L3Vni } from '../node-agent/kernel/realised-vnis';
import { l3RouterMac } from '../node-agent/kernel/vni-devices';
import { Rtnetlink } from '../node-agent/netlink';

const VNI = 100;
const VTEPS = 100;
const DEVICE = 'vxl3-8472';

export interface StepRates {
  // Endpoints per second: programmed from nothing, a pass with nothing to change, all removed.
  add: number;
  unchanged: number;
  remove: number;
}

const vtepOf = (i: number) => `198.18.1.${1 + (i % VTEPS)}`;
const addressOf = (i: number) => `10.100.${Math.floor(i / 250)}.${2 + (i % 250)}`;

async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

function records(count: number): EndpointRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    owner: `h${i % VTEPS}`,
    version: { incarnation: 1, counter: i + 1 },
    tombstone: false,
    originTimeMs: 0,
    body: {
      kind: 'endpoint',
      vni: VNI,
      mac: `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      ips: [`${addressOf(i)}/16`],
      vtep: vtepOf(i),
      mobilitySeq: 0,
      origin: 'api',
    },
  }));
}

// The agent's L3 route writer in the lab's first namespace (sysctls left alone: they are the machine's).
export async function lwtRates(lab: LabNetwork, count: number): Promise<StepRates> {
  const host = lab.hosts[0];
  host.exec('ip', ['link', 'add', DEVICE, 'type', 'vxlan', 'external', 'dstport', '8472', 'local', host.ip]);
  host.exec('ip', ['link', 'set', DEVICE, 'up']);
  const rt = Rtnetlink.open({ netns: `/run/netns/${host.netns}` });
  try {
    const device = (await rt.links.get(DEVICE))!;
    const vni: L3Vni = {
      vni: VNI,
      deviceIndex: device.index,
      device: DEVICE,
      subnet: '10.100.0.0/16',
      datapath: 'lwt',
    };
    const writer = new L3RouteWriter(rt, createLogger({ component: 'bench', level: 'error' }), () => false);
    const remote = records(count);
    const pass = async (wanted: EndpointRecord[], expectWritten: boolean) => {
      const r = await timed(() => writer.reconcile([vni], [], wanted, true));
      const programmed = r.value.programmed.get(VNI) ?? 0;
      if (programmed !== (r.value.desired.get(VNI) ?? 0))
        throw new Error(`LWT: ${programmed} of ${r.value.desired.get(VNI)} routes and rules programmed`);
      if (!expectWritten && r.value.removed !== 0) throw new Error('LWT: an unchanged pass removed entries');
      return count / r.seconds;
    };
    const add = await pass(remote, true);
    const unchanged = await pass(remote, false);
    const remove = await pass([], true);
    return { add, unchanged, remove };
  } finally {
    rt.close();
  }
}

// The map API on the datapath's remote_eps map, pinned in the BPF filesystem mounted (by the open) at
// bpffs (programs loaded, not attached: programming only).
export async function bpfRates(bpffs: string, count: number): Promise<StepRates> {
  const pinDir = path.join(bpffs, 'bench');
  let datapath: BpfDatapath | undefined;
  try {
    datapath = BpfDatapath.open({ bpffs, pinDir });
    const map = datapath.remoteEndpoints;
    const entries: Array<MapEntry<EndpointKey, RemoteEndpoint>> = Array.from({ length: count }, (_, i) => ({
      key: { vni: VNI, address: addressOf(i) },
      value: { vtep: vtepOf(i), mac: l3RouterMac(vtepOf(i)), tunnelIfindex: 1 },
    }));
    const pass = async (wanted: typeof entries, expect: { written: number; deleted: number }) => {
      const r = await timed(() => syncMap(map, wanted));
      const { written, deleted, failures } = r.value;
      if (failures.length > 0 || written !== expect.written || deleted !== expect.deleted)
        throw new Error(`BPF: wrote ${written}, deleted ${deleted}, ${failures.length} refused`);
      return count / r.seconds;
    };
    const add = await pass(entries, { written: count, deleted: 0 });
    const unchanged = await pass(entries, { written: 0, deleted: 0 });
    const remove = await pass([], { written: 0, deleted: count });
    return { add, unchanged, remove };
  } finally {
    datapath?.close();
    removePins(pinDir);
  }
}
