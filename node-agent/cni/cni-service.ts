import { UnixSocketInUse, unixSocketInUse } from '../../common/unix-socket-server';
import type { Logger } from '../../common/log';
import type { HostIpam } from '../ipam/host-ipam';
import type { EndpointAttacher } from '../kernel/endpoint-attacher';
import type { AttachPoint } from '../kernel/vni-devices';
import type { Rtnetlink } from '../netlink';
import { CniAttachments } from './cni-attachments';
import { CniSocketServer } from './cni-socket-server';
import { replayDeletes } from './delete-replay';
import { insideInterface } from './inside-interface';

export interface CniOptions {
  socket: string;
  deleteQueue: string;
}

export interface CniServiceDeps {
  attacher: EndpointAttacher;
  rt: Rtnetlink;
  ipam: HostIpam;
  attachPoint: (vni: number) => AttachPoint | undefined;
  settle: () => Promise<void>;
  readiness: () => { ready: boolean; checks: Record<string, string> };
  log: Logger;
}

// The agent's part of CNI: at start it replays the deletions queued while it was down, then serves
// the plugin's socket.
export class CniService {
  private readonly attachments: CniAttachments;
  private readonly server: CniSocketServer;
  private serving = false;

  constructor(
    private readonly options: CniOptions,
    private readonly deps: CniServiceDeps,
  ) {
    const { rt } = deps;
    this.attachments = new CniAttachments({
      ...deps,
      hostLink: (name) => rt.links.get(name),
      inside: insideInterface,
    });
    this.server = new CniSocketServer(this.attachments, deps.log);
  }

  async start(): Promise<void> {
    const { socket, deleteQueue } = this.options;
    if (await unixSocketInUse(socket)) return this.leftToAnother(socket);
    await replayDeletes(deleteQueue, this.attachments, this.deps.log);
    try {
      await this.server.listen(socket);
      this.serving = true;
    } catch (err) {
      if (err instanceof UnixSocketInUse) return this.leftToAnother(socket);
      throw new Error(`cannot serve the CNI plugin on ${socket} (--cni-socket): ${(err as Error).message}`);
    }
  }

  // One agent per host serves the plugin; agents sharing a machine (a lab) need sockets of their own.
  private leftToAnother(socket: string): void {
    this.deps.log.error('another agent serves the CNI socket: this one serves no CNI (give it --cni-socket)', {
      socket,
    });
  }

  async close(): Promise<void> {
    if (this.serving) await this.server.close();
  }
}
