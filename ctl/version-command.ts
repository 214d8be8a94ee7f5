import type { ClusterServiceClient } from '../generated/vxgossip/v1/ClusterService';
import type { ClusterStatus__Output } from '../generated/vxgossip/v1/ClusterStatus';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { VERSION } from '../common/version';
import { UsageError } from '../common/cli';
import type { Command, Group } from './command';
import { isData, printAnswer, refuseNames } from './print';

export function printClientVersion(out: (text: string) => void): void {
  out(`client: ${VERSION}\n`);
}

// kubectl's version: the client's is known without a server; the server's is asked for, and a server
// that cannot be reached fails the command (after the client's line).
const version: Command = {
  name: 'version',
  summary: 'the version of ctl and of the server',
  usage: 'ctl version',
  options: {},
  async run(ctx, _values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    refuseNames(ctx);
    if (!isData(ctx)) printClientVersion(ctx.out);
    const c: ClusterServiceClient = await ctx.servers.client(v1().ClusterService);
    const status = await unaryCall<ClusterStatus__Output>((o, cb) => c.getStatus({}, o, cb), ctx.timeoutMs);
    const server = status.serverVersion || 'unknown (a server older than this ctl)';
    printAnswer(ctx, { data: { client: VERSION, server }, text: () => `server: ${server}\n` });
  },
};

export const versionGroup: Group = {
  name: 'version',
  summary: 'the version of ctl and of the server',
  commands: [version],
  single: true,
};
