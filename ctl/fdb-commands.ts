import type { ListFdbResponse__Output } from '../generated/vxgossip/v1/ListFdbResponse';
import type { FdbEntry__Output } from '../generated/vxgossip/v1/FdbEntry';
import type { ListDuplicatesResponse__Output } from '../generated/vxgossip/v1/ListDuplicatesResponse';
import type { ClearDuplicateResponse__Output } from '../generated/vxgossip/v1/ClearDuplicateResponse';
import { unaryCall } from '../common/grpc-client';
import { UsageError } from '../common/cli';
import { checkUnicastMac, checkVniId } from '../common/validation';
import type { Command, Group } from './command';
import { allPages, client, filterFrom, noPositionals, required } from './endpoint-commands';
import { printAnswer, printList } from './print';
import { duplicateResource, duplicateView, fdbEntryView, fdbResource } from './views/fdb';
import { fdbDiff, showOnHost } from './truth-commands';

const show: Command = {
  name: 'show',
  summary: "the forwarding entries every host programs: MAC -> VTEP, and flood lists; --on: one host's kernel",
  usage: 'ctl fdb show [--vni VNI] [--node NODE] [--mac MAC] [--no-flood]\n       ctl fdb show --on NODE [--vni VNI]',
  details: `  --on NODE   what that host's kernel holds (read by its agent), not the server's view: vxlan
              (MAC -> VTEP), bridge, neighbour (IP -> MAC), route (IP -> VTEP) and local entries`,
  options: {
    on: { type: 'string' },
    vni: { type: 'string' },
    node: { type: 'string' },
    mac: { type: 'string' },
    'no-flood': { type: 'boolean' },
  },
  async run(ctx, values, positionals) {
    noPositionals(positionals);
    if (values.on !== undefined) return showOnHost(ctx, values);
    const c = await client(ctx);
    const filter = filterFrom(values);
    const all = await allPages<FdbEntry__Output>(async (pageToken) => {
      const res = await unaryCall<ListFdbResponse__Output>(
        (o, cb) => c.listFdb({ filter, pageToken, includeFlood: !values['no-flood'] }, o, cb),
        ctx.timeoutMs,
      );
      return { items: res.entries, next: res.nextPageToken };
    });
    printList(ctx, fdbResource, all.map(fdbEntryView));
  },
};

const DUP_USAGE =
  'ctl fdb dup list [--vni VNI] [--node NODE] [--mac MAC]\n       ctl fdb dup clear --vni VNI --mac MAC';

// FRR's `show evpn mac vni all duplicate` and `clear evpn dup-addr`.
const dup: Command = {
  name: 'dup',
  summary: 'duplicate MACs: list the frozen ones, or clear one so its hosts contest it again',
  usage: DUP_USAGE,
  details: `  list    every MAC a host froze because it kept moving between hosts: where it points while
          frozen, and every host claiming it (a frozen claim stopped contesting)
  clear   thaw the MAC at once on every host that froze it (after fixing the duplicate)`,
  options: { vni: { type: 'string' }, node: { type: 'string' }, mac: { type: 'string' } },
  async run(ctx, values, positionals) {
    const [action, ...rest] = positionals;
    noPositionals(rest);
    const c = await client(ctx);
    if (action === 'list') {
      const filter = filterFrom(values);
      const res = await unaryCall<ListDuplicatesResponse__Output>(
        (o, cb) => c.listDuplicates({ filter }, o, cb),
        ctx.timeoutMs,
      );
      return printList(ctx, duplicateResource, res.duplicates.map(duplicateView));
    }
    if (action === 'clear') {
      if (values.node !== undefined)
        throw new UsageError('dup clear thaws the MAC on every host that froze it; it takes no --node');
      const request = {
        vni: checkVniId(required(values, 'vni'), 'vni'),
        mac: checkUnicastMac('mac', required(values, 'mac')),
      };
      const res = await unaryCall<ClearDuplicateResponse__Output>(
        (o, cb) => c.clearDuplicate(request, o, cb),
        Math.max(ctx.timeoutMs, 20_000),
      );
      const failed = Object.entries(res.errors)
        .map(([node, error]) => `  ${node}: ${error}\n`)
        .join('');
      return printAnswer(ctx, {
        data: { vni: request.vni, mac: request.mac, nodes: res.nodes, errors: res.errors },
        names: [`duplicate/${request.vni}/${request.mac}`],
        text: () =>
          `cleared ${request.mac} in VNI ${request.vni} on ${res.nodes.join(', ') || 'no host'}\n${failed && `not reached:\n${failed}`}`,
      });
    }
    throw new UsageError(`dup needs list or clear\nusage: ${DUP_USAGE}`);
  },
};

export const fdbGroup: Group = {
  name: 'fdb',
  summary: "the global forwarding database, each host's kernel against it, and duplicate MACs",
  commands: [show, fdbDiff, dup],
};
