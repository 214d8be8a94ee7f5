import { endpointRecordKey } from '../../common/fdb-state/record';
import { EndpointRecord, announcedElsewhere, decideMac } from '../../common/fdb-state/winner-rule';
import type { Logger } from '../../common/log';
import { endpointToProto } from '../../common/record-proto';
import { checkUnicastMac, checkVniId } from '../../common/validation';
import type { Command__Output } from '../../generated/vxgossip/v1/Command';
import { AgentError } from '../agent-errors';
import type { EndpointAttacher } from '../kernel/endpoint-attacher';
import type { DuplicateDetector } from '../state/duplicate-detector';
import type { RecordStore } from '../state/record-store';
import type { CommandHandlers } from './command-dispatch';
import type { KeyringCommands } from './keyring-commands';

export interface AgentCommandDeps {
  name: string;
  vtep: string;
  store: RecordStore;
  attacher: EndpointAttacher;
  duplicates: DuplicateDetector;
  // Whether gossip considers the owner alive: only live claims count.
  alive: (owner: string) => boolean;
  keys?: KeyringCommands;
  // Runs a reconcile pass and waits for it: the answer reflects what the host now announces.
  settle: () => Promise<void>;
  log: Logger;
}

// What the server may ask of this agent: attach and detach endpoints here, change the gossip
// keyring, thaw a duplicate MAC.
export function agentCommandHandlers(deps: AgentCommandDeps): CommandHandlers {
  const { name, vtep, store, attacher, duplicates, alive, keys, settle, log } = deps;
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
      const attached = await attacher.attach({
        vni: a!.vni,
        netns: a!.netns,
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
      await attacher.detach({ vni: d!.vni, netns: d!.netns, interface: d!.interface || undefined });
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
    installKey: keyring,
    useKey: keyring,
    removeKey: keyring,
    listKeys: keyring,
  };
}
