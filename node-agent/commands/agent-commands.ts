import { endpointRecordKey } from '../../common/fdb-state/record';
import { EndpointRecord, announcedElsewhere, decideMac } from '../../common/fdb-state/winner-rule';
import type { Logger } from '../../common/log';
import { endpointToProto } from '../../common/record-proto';
import { checkNetnsName, checkUnicastMac, checkVniId } from '../../common/validation';
import { sameAddress } from '../../common/ipam-blocks';
import type { Command__Output } from '../../generated/vxgossip/v1/Command';
import { AgentError } from '../agent-errors';
import type { AttachRequest, AttachedEndpoint, EndpointAttacher } from '../kernel/endpoint-attacher';
import type { BlockAllocator } from '../ipam/block-allocator';
import type { DuplicateDetector } from '../state/duplicate-detector';
import type { RecordStore } from '../state/record-store';
import type { CommandHandlers } from './command-dispatch';
import type { KeyringCommands } from './keyring-commands';
import { HostFdbDeps, hostFdbPage } from './host-fdb-command';

export interface AgentCommandDeps {
  name: string;
  vtep: string;
  store: RecordStore;
  attacher: EndpointAttacher;
  ipam: BlockAllocator;
  duplicates: DuplicateDetector;
  // Whether gossip considers the owner alive: only live claims count.
  alive: (owner: string) => boolean;
  keys?: KeyringCommands;
  // What the kernel holds, for `ctl fdb show --on` (name comes from above).
  kernel?: Omit<HostFdbDeps, 'name'>;
  // Runs a reconcile pass and waits for it: the answer reflects what the host now announces.
  settle: () => Promise<void>;
  log: Logger;
}

// How ctl's endpoints are named to IPAM: the namespace and the interface inside it.
const handleOf = (e: { netns: string; interface?: string }) => `${e.netns}/${e.interface || 'eth0'}`;

// Without an address, the endpoint gets one from this host's blocks; an address given inside one of
// them is taken there too, so IPAM never hands it out again. Freshly taken, it is freed if the attach fails.
async function attachWithAddress(
  attacher: EndpointAttacher,
  ipam: BlockAllocator,
  request: AttachRequest,
): Promise<AttachedEndpoint> {
  const { vni } = request;
  if (request.ip && !ipam.holds(vni, request.ip)) return attacher.attach(request);
  const handle = handleOf(request);
  const fresh = !ipam.allocated(vni).some((x) => x.handle === handle);
  const address = await ipam.allocate({ vni, handle, ip: request.ip || undefined });
  try {
    return await attacher.attach({ ...request, ip: request.ip || address.ip });
  } catch (err) {
    if (fresh) await ipam.release(vni, handle);
    throw err;
  }
}

// What the server may ask of this agent: attach and detach endpoints here, change the gossip
// keyring, thaw a duplicate MAC, show what the kernel holds.
export function agentCommandHandlers(deps: AgentCommandDeps): CommandHandlers {
  const { name, vtep, store, attacher, ipam, duplicates, alive, keys, settle, log, kernel } = deps;
  const keyring = keys && ((c: Command__Output) => ({ keyring: keys.run(c) }));
  // A MAC another host wins in gossip is not attached here as well: the two would out-bid each other.
  const refuseAnnouncedElsewhere = (vni: number, mac: string) => {
    const claims = store.liveFor(endpointRecordKey(vni, mac)) as EndpointRecord[];
    const holder = decideMac(claims, alive)?.winner.owner;
    if (holder !== undefined && holder !== name)
      throw new AgentError('already-exists', announcedElsewhere(vni, mac, holder));
  };
  return {
    attach: async ({ attach: a }) => {
      if (a!.mac) refuseAnnouncedElsewhere(checkVniId(a!.vni, 'vni'), checkUnicastMac('mac', a!.mac));
      const attached = await attachWithAddress(attacher, ipam, {
        vni: checkVniId(a!.vni, 'vni'),
        netns: checkNetnsName('netns', a!.netns),
        ip: a!.ip,
        mac: a!.mac || undefined,
        interface: a!.interface || undefined,
      });
      await settle();
      const record = store.get(name, endpointRecordKey(attached.vni, attached.mac));
      const body =
        record?.body.kind === 'endpoint'
          ? record.body
          : {
              kind: 'endpoint' as const,
              vni: attached.vni,
              mac: attached.mac,
              ips: [attached.ip],
              vtep,
              mobilitySeq: 0,
              origin: 'api' as const,
            };
      return {
        endpoint: {
          ...endpointToProto(name, body),
          netns: attached.netns,
          interface: attached.interface,
          version: record?.version,
        },
      };
    },
    detach: async ({ detach: d }) => {
      const detached = await attacher.detach({ vni: d!.vni, netns: d!.netns, interface: d!.interface || undefined });
      // Only an address IPAM gave this endpoint goes back to its block.
      const handle = handleOf(detached);
      const held = ipam.allocated(detached.vni).find((x) => x.handle === handle);
      if (held && sameAddress(held.ip, detached.ip)) await ipam.release(detached.vni, handle);
      await settle();
      return {};
    },
    clearDuplicate: async ({ clearDuplicate: c }) => {
      const [vni, mac] = [checkVniId(c!.vni, 'vni'), checkUnicastMac('mac', c!.mac)];
      const cleared = duplicates.clear(vni, mac);
      if (cleared) log.info('duplicate MAC cleared by an operator: this host contests it again', { vni, mac });
      await settle();
      return { cleared: { nodes: cleared ? [name] : [] } };
    },
    hostFdb: kernel && ((c) => hostFdbPage({ name, ...kernel }, c)),
    installKey: keyring,
    useKey: keyring,
    removeKey: keyring,
    listKeys: keyring,
  };
}
