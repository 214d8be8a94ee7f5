import * as path from 'node:path';
import type { Logger } from '../../common/log';
import { UnixSocketInUse, unixSocketInUse } from '../../common/unix-socket-server';
import type { VniConfig } from '../../common/vni';
import type { HostIpam } from '../ipam/host-ipam';
import type { Rtnetlink } from '../netlink';
import type { AttachPoint } from '../kernel/vni-devices';
import { DockerState } from './docker-state';
import { KernelDockerVeths } from './docker-veths';
import { IpamDriver } from './ipam-driver';
import { NetworkDriver } from './network-driver';
import { DEFAULT_PLUGIN_DIR, PLUGIN_NAME, PluginHandlers, PluginServer } from './plugin-server';

export interface DockerPluginDeps {
  node: string;
  dataDir: string;
  rt: Rtnetlink;
  vnis: () => VniConfig[];
  attachPoint: (vni: number) => AttachPoint | undefined;
  ipam: HostIpam;
  settle: () => Promise<void>;
  log: Logger;
}

export function dockerPluginHandlers(network: NetworkDriver, ipam: IpamDriver): PluginHandlers {
  return {
    'Plugin.Activate': () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
    ...network.handlers(),
    ...ipam.handlers(),
  };
}

// --docker-plugin-dir: where Docker looks for plugins (default /run/docker/plugins), or 'off'.
export async function serveDockerPlugin(
  dir = DEFAULT_PLUGIN_DIR,
  deps: DockerPluginDeps,
): Promise<PluginServer | undefined> {
  if (dir === 'off') return undefined;
  const log = deps.log.child({ part: 'docker' });
  const socket = path.join(dir, `${PLUGIN_NAME}.sock`);
  // One agent per host serves the drivers; agents sharing a machine (a lab) need directories of their own.
  const leftToAnother = () => {
    log.error('another agent serves the Docker plugin: this one serves none (give it --docker-plugin-dir)', {
      socket,
    });
    return undefined;
  };
  if (await unixSocketInUse(socket)) return leftToAnother();
  const state = DockerState.open(deps.dataDir);
  const veths = new KernelDockerVeths(deps.rt, deps.node, deps.attachPoint);
  const network = new NetworkDriver({ ...deps, state, veths, log });
  const ipam = new IpamDriver({ ...deps, log });
  return PluginServer.listen(dir, dockerPluginHandlers(network, ipam), log).catch((err: Error) => {
    if (err instanceof UnixSocketInUse) return leftToAnother();
    throw new Error(`cannot serve the Docker plugin in ${dir} (--docker-plugin-dir): ${err.message}`);
  });
}
