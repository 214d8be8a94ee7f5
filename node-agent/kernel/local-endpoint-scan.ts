import type { EndpointBody } from '../../common/fdb-state/record';
import { whereAttached } from '../../common/record-proto';
import type { AttachedEndpoint } from './endpoint-attacher';
import type { VniPorts } from './realised-vnis';
import type { Rtnetlink } from '../netlink';

export type LocalEndpoint = Omit<EndpointBody, 'kind' | 'vtep' | 'mobilitySeq'>;

// The endpoints this host serves, read from the kernel: those attached through the API (MAC and
// address known) and MACs the bridges learned on their local ports (a container's veth). Entries on
// the vxlan port are remote, permanent ones are the bridge's own, extern_learn ones are ours.
// `realised`: every VNI realised here (L2 and L3); `ports`: the bridges of the L2 ones.
export async function scanLocalEndpoints(
  rt: Rtnetlink,
  realised: ReadonlySet<number>,
  ports: VniPorts[],
  attached: AttachedEndpoint[],
): Promise<LocalEndpoint[]> {
  const found = new Map<string, LocalEndpoint>();
  for (const e of attached) {
    if (!realised.has(e.vni)) continue;
    const where = whereAttached(e.netns, e.interface);
    found.set(`${e.vni}/${e.mac}`, { vni: e.vni, mac: e.mac, ips: [e.ip], origin: 'api', ...where });
  }
  for (const vni of ports) {
    for (const entry of await rt.fdb.listOfBridge(vni.bridgeIndex)) {
      // The bridge's own entries carry NDA_MASTER (not the NTF_MASTER flag); port and bridge devices
      // report their own addresses with NTF_SELF.
      if (
        entry.self ||
        entry.master !== vni.bridgeIndex ||
        entry.ifindex === vni.vxlanIndex ||
        entry.externLearn ||
        entry.state === 'permanent'
      )
        continue;
      const key = `${vni.vni}/${entry.mac}`;
      if (!found.has(key)) found.set(key, { vni: vni.vni, mac: entry.mac, ips: [], origin: 'learned' });
    }
  }
  return [...found.values()];
}
