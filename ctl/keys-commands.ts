import type { ClusterServiceClient } from '../generated/vxgossip/v1/ClusterService';
import type { KeyringResponse__Output } from '../generated/vxgossip/v1/KeyringResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import type { Command, Context, Group } from './command';
import { renderData, renderTable } from './output';

function client(ctx: Context): ClusterServiceClient {
  return new (v1().ClusterService)(ctx.server, ctx.credentials(), ctx.clientOptions);
}

function render(ctx: Context, res: KeyringResponse__Output): void {
  const failed = Object.entries(res.errors);
  if (ctx.output !== 'table') {
    ctx.out(renderData(ctx.output, res));
  } else {
    ctx.out(`${res.nodes} node(s) answered${failed.length ? `, ${failed.length} failed` : ''}\n\n`);
    ctx.out(
      renderTable(
        ['KEY', 'NODES', 'PRIMARY ON'],
        Object.entries(res.keys).map(([k, n]) => [k, `${n}/${res.nodes}`, String(res.primaryKeys[k] ?? 0)]),
      ),
    );
    for (const [node, error] of failed) ctx.out(`${node}: ${error}\n`);
  }
  if (failed.length > 0) throw new Error(`${failed.length} node(s) failed: ${failed.map(([n]) => n).join(', ')}`);
}

function keyCommand(name: 'install' | 'use' | 'remove', summary: string): Command {
  return {
    name,
    summary,
    usage: `ctl keys ${name} <base64-key>`,
    options: {},
    async run(ctx, _values, positionals) {
      if (positionals.length !== 1) throw new UsageError('expected exactly one key (base64)');
      const c = client(ctx);
      const key = positionals[0];
      const call = name === 'install' ? c.installKey.bind(c) : name === 'use' ? c.useKey.bind(c) : c.removeKey.bind(c);
      render(
        ctx,
        await unaryCall<KeyringResponse__Output>((o, cb) => call({ key }, o, cb), Math.max(ctx.timeoutMs, 20_000)),
      );
    },
  };
}

const list: Command = {
  name: 'list',
  summary: 'the gossip keys every connected agent holds, and which one each uses',
  usage: 'ctl keys list',
  options: {},
  async run(ctx, _values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const c = client(ctx);
    render(
      ctx,
      await unaryCall<KeyringResponse__Output>((o, cb) => c.listKeys({}, o, cb), Math.max(ctx.timeoutMs, 20_000)),
    );
  },
};

// Rotation without a partition: install the new key everywhere, use it everywhere, remove the old.
export const keysGroup: Group = {
  name: 'keys',
  summary: 'rotate the gossip encryption keys on every agent (install, use, remove, list)',
  commands: [
    keyCommand('install', "add a key to every agent's keyring (decrypts, does not yet encrypt)"),
    keyCommand('use', 'make an installed key the one every agent encrypts with'),
    keyCommand('remove', 'remove a key that is no longer in use from every agent'),
    list,
  ],
};
