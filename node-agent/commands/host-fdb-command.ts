import type { Command__Output } from '../../generated/vxgossip/v1/Command';
import type { HostFdb } from '../../generated/vxgossip/v1/HostFdb';
import { checkHostFdbPaging } from '../../common/host-fdb-request';
import type { RealisedVnis } from '../kernel/realised-vnis';
import { TruthEntry, truthKey } from '../kernel/kernel-truth';

export interface HostFdbDeps {
  name: string;
  realised: () => RealisedVnis;
  read: (realised: RealisedVnis, vni: number) => Promise<TruthEntry[]>;
}

// `ctl fdb show --on`: a page of what this host's kernel holds, after the entry the token names.
export async function hostFdbPage(deps: HostFdbDeps, command: Command__Output): Promise<{ hostFdb: HostFdb }> {
  const { vni, pageSize: size, pageToken } = checkHostFdbPaging(command.hostFdb!);
  const realised = deps.realised();
  const vnis = [...realised.l2.map((p) => p.vni), ...realised.l3.map((v) => v.vni)]
    .filter((v) => vni === 0 || v === vni)
    .sort((a, b) => a - b);
  const all = await deps.read(realised, vni);
  const after = pageToken ? all.filter((e) => truthKey(e) > pageToken) : all;
  const page = after.slice(0, size);
  const next = after.length > size ? truthKey(page[page.length - 1]) : '';
  return { hostFdb: { node: deps.name, entries: page, nextPageToken: next, vnis } };
}
