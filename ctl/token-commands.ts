import type { ClusterServiceClient } from '../generated/vxgossip/v1/ClusterService';
import type { JoinToken__Output } from '../generated/vxgossip/v1/JoinToken';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import { checkInteger, parseDuration } from '../common/validation';
import type { Command, Group } from './command';
import { printAnswer } from './print';
import { time } from './views/values';

const create: Command = {
  name: 'create',
  summary: 'a join token for node-agent --join-token (short-lived, one host by default)',
  usage: 'ctl token create [--ttl DURATION] [--uses N] [--node NAME]',
  details:
    '  --ttl DURATION  how long it is valid (default 1h, at most 7d)\n' +
    '  --uses N        how many hosts may enrol with it (default 1)\n' +
    '  --node NAME     only this node may use it, also to re-enrol an enrolled node that lost its data dir\n' +
    'The token ends with the SHA-256 of the cluster CA, so the host verifies the server it enrols with.',
  options: { ttl: { type: 'string' }, uses: { type: 'string' }, node: { type: 'string' } },
  async run(ctx, values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const ttlSeconds = values.ttl ? parseDuration('--ttl', values.ttl as string, 60_000, 7 * 24 * 3600_000) / 1000 : 0;
    const uses = values.uses ? checkInteger('--uses', Number(values.uses), 1, 1000) : 0;
    const c: ClusterServiceClient = await ctx.servers.client(v1().ClusterService);
    const res = await unaryCall<JoinToken__Output>(
      (o, cb) =>
        c.createJoinToken({ ttlSeconds: Math.round(ttlSeconds), uses, node: (values.node as string) ?? '' }, o, cb),
      ctx.timeoutMs,
    );
    // The token is a secret, not a resource with a name: -o name is refused.
    printAnswer(ctx, {
      data: { token: res.token, expireTime: time('expireTimeMs', res.expireTimeMs), uses: res.uses },
      text: () => `${res.token}\n`,
    });
  },
};

export const tokenGroup: Group = { name: 'token', summary: 'join tokens to enrol hosts', commands: [create] };
