import { checkSubnetsApart } from '../common/l3-subnet';
import {
  VniConfig,
  VniInput,
  checkDatapath,
  checkMtu,
  checkPortSharing,
  defaultVniName,
  normaliseVni,
  UPDATABLE_FIELDS,
} from '../common/vni';
import { ValidationError, checkMulticastGroup, checkName, checkVniId, shown } from '../common/validation';

export class NotFoundError extends Error {}
export class AlreadyExistsError extends Error {}
export class StaleRevisionError extends Error {}

// What a VNI change checks against the whole configuration, shared by every store so that the level
// and the etcd stores accept and refuse exactly the same changes. Pure: a store decides how to commit.

export function findVni(byId: ReadonlyMap<number, VniConfig>, id: number): VniConfig {
  const vni = byId.get(checkVniId(id));
  if (!vni) throw new NotFoundError(`VNI ${id} does not exist`);
  return vni;
}

function assertNameFree(name: string, selfId: number, vnis: VniConfig[]): void {
  for (const other of vnis) {
    if (other.name === name && other.id !== selfId)
      throw new AlreadyExistsError(`name "${name}" is already used by VNI ${other.id}`);
  }
}

// The new VNI's fields, or why it cannot join `vnis`.
export function planCreate(input: VniInput, vnis: VniConfig[]): ReturnType<typeof normaliseVni> {
  const fields = normaliseVni(input);
  if (vnis.some((v) => v.id === fields.id)) throw new AlreadyExistsError(`VNI ${fields.id} already exists`);
  assertNameFree(fields.name, fields.id, vnis);
  checkPortSharing(fields, vnis);
  checkSubnetsApart(fields, vnis);
  return fields;
}

// `current` with `paths` of `input` applied (revision and times left to the store), or why not.
export function planUpdate(
  current: VniConfig,
  input: VniInput,
  paths: string[],
  expectedRevision: number,
  vnis: VniConfig[],
): VniConfig {
  if (expectedRevision !== 0 && current.revision !== expectedRevision) {
    throw new StaleRevisionError(`VNI ${current.id} is at revision ${current.revision}, not ${expectedRevision}`);
  }
  if (paths.length === 0)
    throw new ValidationError('update_paths', `name at least one of: ${UPDATABLE_FIELDS.join(', ')}`);
  const next: VniConfig = { ...current };
  for (const path of paths) {
    switch (path) {
      case 'name':
        next.name = input.name ? checkName('name', input.name) : defaultVniName(current.id);
        assertNameFree(next.name, current.id, vnis);
        break;
      case 'mtu':
        next.mtu = checkMtu(input.mtu);
        break;
      case 'flooding':
        next.multicastGroup = input.multicastGroup
          ? checkMulticastGroup('flooding.multicast_group', input.multicastGroup)
          : '';
        if (next.mode === 'l3' && next.multicastGroup !== '') {
          throw new ValidationError('flooding.multicast_group', 'an l3 VNI routes and does not flood');
        }
        break;
      case 'datapath':
        // Agents move the VNI's endpoints from one datapath to the other (its port must allow it).
        if (next.mode !== 'l3')
          throw new ValidationError('datapath', `VNI ${current.id} is l2: a datapath applies to l3 VNIs only`);
        next.datapath = checkDatapath(input.datapath, next.mode);
        checkPortSharing(next, vnis);
        break;
      default:
        throw new ValidationError(
          'update_paths',
          `${shown(path)} cannot be updated; updatable: ${UPDATABLE_FIELDS.join(', ')}`,
        );
    }
  }
  return next;
}

export function sortedVnis(byId: ReadonlyMap<number, VniConfig>): VniConfig[] {
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

export function sortedRevocations(revoked: ReadonlyMap<string, number>): Array<{ node: string; revokedAtMs: number }> {
  return [...revoked]
    .map(([node, revokedAtMs]) => ({ node, revokedAtMs }))
    .sort((a, b) => a.node.localeCompare(b.node));
}
