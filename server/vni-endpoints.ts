import * as grpc from '@grpc/grpc-js';
import type { EndpointIndex } from './endpoint-index';
import type { AgentHub } from './agent-hub';
import { RpcError } from './grpc-errors';
import { keyRangeOf } from './endpoint-filter';

// An endpoint attached through the API (ctl, CNI, Docker): a veth on its host that outlives its VNI
// unless detached.
export interface AttachedRef {
  node: string;
  vni: number;
  mac: string;
  netns?: string;
  interface?: string;
}

const SHOWN = 10;
const describe = (e: AttachedRef) => `${e.node} ${e.netns ?? '(namespace unknown)'}/${e.interface ?? 'eth0'}`;
const listed = (all: string[]) =>
  all.slice(0, SHOWN).join(', ') + (all.length > SHOWN ? ` and ${all.length - SHOWN} more` : '');

export function attachedIn(index: EndpointIndex, vni: number): AttachedRef[] {
  const { from, to } = keyRangeOf({ vni, mac: '', node: '' });
  const out: AttachedRef[] = [];
  index.sorted().forRange(from, to, false, (_key, r) => {
    if (r.body.origin !== 'api') return;
    out.push({ node: r.owner, vni, mac: r.body.mac, netns: r.body.netns, interface: r.body.interface });
  });
  return out;
}

// `vni delete` without --cascade: deleting the VNI would strand these veths on their hosts.
export function refuseAttached(vni: number, attached: AttachedRef[]): void {
  if (attached.length === 0) return;
  throw new RpcError(
    grpc.status.FAILED_PRECONDITION,
    `VNI ${vni} has ${attached.length} attached endpoint(s): ${listed(attached.map(describe))}; detach them (ctl endpoint detach) or delete with --cascade, which detaches them first`,
  );
}

// --cascade: every attached endpoint detached by its own agent (which removes the veth and frees
// its address), all at once. Any that cannot be keeps the VNI, so nothing is left behind unseen.
export async function detachAll(hub: AgentHub, vni: number, attached: AttachedRef[]): Promise<void> {
  const failures = (
    await Promise.all(
      attached.map(async (e) => {
        if (e.netns === undefined) return `${describe(e)}: its agent does not report where it is attached (upgrade it)`;
        const detach = { node: e.node, vni, netns: e.netns, interface: e.interface ?? '' };
        try {
          const result = await hub.sendCommand(e.node, { detach });
          return result.error ? `${describe(e)}: ${result.error}` : undefined;
        } catch (err) {
          return `${describe(e)}: ${(err as Error).message}`;
        }
      }),
    )
  ).filter((f): f is string => f !== undefined);
  if (failures.length > 0)
    throw new RpcError(
      grpc.status.FAILED_PRECONDITION,
      `VNI ${vni} is kept: ${failures.length} of ${attached.length} attached endpoint(s) could not be detached: ${listed(failures)}; fix that and delete again (those detached stay detached)`,
    );
}
