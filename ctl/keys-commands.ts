import type { ClusterServiceClient } from '../generated/vxgossip/v1/ClusterService';
import type { KeyringResponse__Output } from '../generated/vxgossip/v1/KeyringResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { UsageError } from '../common/cli';
import type { Command, Context, Group } from './command';
import { isData, printList } from './print';
import { renderData } from './output';
import { keyResource, keyRows, keyringView } from './views/keyring';
import { EXIT_DEGRADED } from './errors';

function client(ctx: Context): Promise<ClusterServiceClient> {
  return ctx.servers.client(v1().ClusterService);
}

// The answer, then on stderr every node that did not get the change (exit 3: a later `keys use` or
// `keys remove` would cut it off) and every node where it will not outlive a restart.
function render(ctx: Context, res: KeyringResponse__Output, changed: boolean): number {
  const failed = Object.entries(res.errors).sort(([a], [b]) => a.localeCompare(b));
  const keyring = keyringView(res);
  if (isData(ctx)) {
    ctx.out(renderData(ctx.output, keyring));
  } else {
    if (ctx.output !== 'name')
      ctx.out(`${res.nodes} node(s) answered${failed.length ? `, ${failed.length} did not` : ''}\n\n`);
    printList(ctx, keyResource, keyRows(keyring));
  }
  if (changed && res.unsavedNodes?.length)
    process.stderr.write(
      `warning: ${res.unsavedNodes.join(', ')} run(s) with --encrypt-key: the change is in memory only and is lost when that agent restarts; start it with --keyring-file FILE to keep it\n`,
    );
  for (const [node, error] of failed) process.stderr.write(`${node}: ${error}\n`);
  if (failed.length === 0) return 0;
  process.stderr.write(
    `${failed.length} node(s) did not answer or failed: ${failed.map(([n]) => n).join(', ')}; repeat the command once they can\n`,
  );
  return EXIT_DEGRADED;
}

function keyCommand(name: 'install' | 'use' | 'remove', summary: string): Command {
  return {
    name,
    summary,
    usage: `ctl keys ${name} <base64-key>`,
    options: {},
    async run(ctx, _values, positionals) {
      if (positionals.length !== 1) throw new UsageError('expected exactly one key (base64)');
      const c = await client(ctx);
      const key = positionals[0];
      const call = name === 'install' ? c.installKey.bind(c) : name === 'use' ? c.useKey.bind(c) : c.removeKey.bind(c);
      return render(
        ctx,
        await unaryCall<KeyringResponse__Output>((o, cb) => call({ key }, o, cb), Math.max(ctx.timeoutMs, 20_000)),
        true,
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
    const c = await client(ctx);
    return render(
      ctx,
      await unaryCall<KeyringResponse__Output>((o, cb) => c.listKeys({}, o, cb), Math.max(ctx.timeoutMs, 20_000)),
      false,
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
