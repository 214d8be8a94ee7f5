import { randomBytes } from 'node:crypto';
import { l3Gateway } from '../../common/l3-subnet';
import type { Logger } from '../../common/log';
import { ValidationError, checkSubnet, checkVniId, parseCidr, shown } from '../../common/validation';
import type { VniConfig } from '../../common/vni';
import type { HostIpam } from '../ipam/host-ipam';
import { optionalString, stringMap } from './docker-request';
import { BadPluginRequest, PluginHandlers, PluginRequest } from './plugin-server';

// Docker's remote IPAM driver over the agent's HostIpam: a pool is a VNI's subnet, its gateway the
// subnet's first address, and every other address comes from this host's blocks, so no two hosts
// hand out the same one.

const GATEWAY_REQUEST = 'com.docker.network.gateway';
// Handles of what we allocated, so a release never frees an address another client (ctl, CNI) holds.
export const DOCKER_HANDLE_PREFIX = 'docker:';

// A subnet as the configuration writes it (host bits cleared), or undefined for one that is not a subnet.
export function canonicalSubnet(value: string): string | undefined {
  try {
    return checkSubnet('subnet', value);
  } catch {
    return undefined;
  }
}

interface Pool {
  vni: number;
  subnet: string;
}

// The pool ID carries the VNI and the subnet, so pools need no state of their own.
const poolId = (p: Pool) => `${p.vni}/${p.subnet}`;

function parsePoolId(value: string): Pool {
  const slash = value.indexOf('/');
  const vni = Number(value.slice(0, slash));
  const subnet = canonicalSubnet(value.slice(slash + 1));
  if (slash < 0 || !Number.isInteger(vni) || subnet === undefined)
    throw new BadPluginRequest(`PoolID: ${shown(value)} is not a pool of this driver`);
  return { vni, subnet };
}

export interface IpamDriverDeps {
  vnis: () => VniConfig[];
  ipam: HostIpam;
  log: Logger;
}

export class IpamDriver {
  constructor(private readonly deps: IpamDriverDeps) {}

  handlers(): PluginHandlers {
    return {
      'IpamDriver.GetCapabilities': () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
      'IpamDriver.GetDefaultAddressSpaces': () => ({
        LocalDefaultAddressSpace: 'vxgossip',
        GlobalDefaultAddressSpace: 'vxgossip',
      }),
      'IpamDriver.RequestPool': (r) => this.requestPool(r),
      'IpamDriver.ReleasePool': () => ({}),
      'IpamDriver.RequestAddress': (r) => this.requestAddress(r),
      'IpamDriver.ReleaseAddress': (r) => this.releaseAddress(r),
    };
  }

  // The VNI whose subnet the pool is: named by --ipam-opt vni=N, or the only VNI with that subnet.
  private requestPool(request: PluginRequest): object {
    const pool = optionalString(request, 'Pool');
    const options = stringMap(request, 'Options');
    if (optionalString(request, 'SubPool') !== '')
      throw new Error('--ip-range is not supported: addresses come from the blocks the server gives this host');
    if (pool === '')
      throw new Error('give the subnet of the VNI: docker network create --subnet SUBNET (ctl vni show VNI prints it)');
    const subnet = canonicalSubnet(pool);
    if (subnet === undefined) throw new Error(`--subnet ${shown(pool)} is not a subnet (e.g. 10.42.0.0/24)`);
    const named = options.vni === undefined ? undefined : checkOptionVni(options.vni, '--ipam-opt vni');
    const vnis = this.deps.vnis().filter((v) => canonicalSubnet(v.subnet) === subnet);
    const matching = named === undefined ? vnis : vnis.filter((v) => v.id === named);
    if (matching.length === 0)
      throw new Error(
        `no VNI ${named === undefined ? '' : `${named} `}in this host's configuration has the subnet ${subnet}; ` +
          `--subnet must be the VNI's (ctl vni show prints it)`,
      );
    if (matching.length > 1)
      throw new Error(
        `VNIs ${matching.map((v) => v.id).join(', ')} all have the subnet ${subnet}: say which with --ipam-opt vni=N`,
      );
    return { PoolID: poolId({ vni: matching[0].id, subnet }), Pool: subnet, Data: {} };
  }

  private async requestAddress(request: PluginRequest): Promise<object> {
    const pool = parsePoolId(optionalString(request, 'PoolID'));
    const wanted = optionalString(request, 'Address');
    const options = stringMap(request, 'Options');
    this.checkPoolCurrent(pool);
    const prefix = parseCidr('subnet', pool.subnet).prefixLength;
    if (options.RequestAddressType === GATEWAY_REQUEST) {
      const gateway = l3Gateway(pool.subnet);
      if (wanted !== '' && wanted !== gateway)
        throw new Error(
          `the gateway of VNI ${pool.vni} is ${gateway}, the first address of ${pool.subnet} (the same on every host); leave --gateway out`,
        );
      return { Address: `${gateway}/${prefix}`, Data: {} };
    }
    const handle = `${DOCKER_HANDLE_PREFIX}${randomBytes(8).toString('hex')}`;
    const got = await this.deps.ipam.allocate({ vni: pool.vni, handle, ip: wanted || undefined });
    if (wanted !== '' && got.ip.split('/')[0] !== wanted) {
      await this.deps.ipam.release(pool.vni, handle);
      throw new Error(`${wanted} is taken in VNI ${pool.vni}; choose another --ip or leave it out`);
    }
    this.deps.log.info('Docker address allocated', { vni: pool.vni, ip: got.ip, handle });
    return { Address: got.ip, Data: {} };
  }

  // Docker releases by address: the handle is found among ours. An address we do not hold is already free.
  private async releaseAddress(request: PluginRequest): Promise<object> {
    const pool = parsePoolId(optionalString(request, 'PoolID'));
    const address = optionalString(request, 'Address').split('/')[0];
    const held = this.deps.ipam
      .allocated(pool.vni)
      .find((a) => a.handle.startsWith(DOCKER_HANDLE_PREFIX) && a.ip.split('/')[0] === address);
    if (held) {
      await this.deps.ipam.release(pool.vni, held.handle);
      this.deps.log.info('Docker address released', { vni: pool.vni, ip: held.ip });
    }
    return {};
  }

  // The VNI may have gone, or changed its subnet, since Docker created the network.
  private checkPoolCurrent(pool: Pool): void {
    const vni = this.deps.vnis().find((v) => v.id === pool.vni);
    if (!vni) throw new Error(`VNI ${pool.vni} is no longer in this host's configuration; ctl vni list shows what is`);
    if (canonicalSubnet(vni.subnet) !== pool.subnet)
      throw new Error(
        `VNI ${pool.vni}'s subnet is now ${vni.subnet || 'none'}, not ${pool.subnet}: recreate the Docker network`,
      );
  }
}

export function checkOptionVni(value: string, option: string): number {
  try {
    return checkVniId(/^\d{1,8}$/.test(value) ? Number(value) : value, option);
  } catch (err) {
    if (err instanceof ValidationError) throw new Error(`${option}: ${shown(value)} is not a VNI (1-16777215)`);
    throw err;
  }
}
