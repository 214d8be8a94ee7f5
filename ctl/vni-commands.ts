import type { VniServiceClient } from '../generated/vxgossip/v1/VniService';
import type { Vni__Output } from '../generated/vxgossip/v1/Vni';
import type { ListVnisResponse__Output } from '../generated/vxgossip/v1/ListVnisResponse';
import type { GetVniResponse__Output } from '../generated/vxgossip/v1/GetVniResponse';
import type { DeleteVniResponse__Output } from '../generated/vxgossip/v1/DeleteVniResponse';
import { unaryCall } from '../common/grpc-client';
import { v1 } from '../common/proto';
import { VniConfig, VniInput, checkDatapath, checkMtu, normaliseVni } from '../common/vni';
import { datapathToProto, vniFromProto, vniToProto } from '../common/vni-proto';
import { checkInteger, checkMulticastGroup, checkName, checkVniId } from '../common/validation';
import { UsageError } from '../common/cli';
import type { Command, Context, Group } from './command';
import { renderFields } from './output';
import { printAnswer, printList, tableOf } from './print';
import { int64 } from './views/values';
import { vniFields, vniHostColumns, vniHostViews, vniResource, vniView } from './views/vni';
import { WAIT_HELP, waitFrom, waitIfAsked, waitOption, waitOptionalValue } from './vni-wait';

function client(ctx: Context): Promise<VniServiceClient> {
  return ctx.servers.client(v1().VniService);
}

function oneVniArgument(positionals: string[]): number {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one VNI, got ${positionals.length} arguments`);
  return checkVniId(positionals[0], 'vni');
}

const create: Command = {
  name: 'create',
  summary: 'create a VNI; every node-agent realises it as vxlan<VNI> under br<VNI>',
  usage:
    'ctl vni create <vni> [--name NAME] [--mtu N] [--dstport N] [--mode l2|l3] [--group ADDR] [--subnet CIDR] [--datapath lwt|bpf] [--wait[=DURATION]]',
  details: `  <vni>       1..16777215
  --name      lowercase letters, digits and '-' (default vni-<vni>)
  --mtu       576..9216; default: the underlay MTU minus the VXLAN overhead
  --dstport   UDP port, default 4789 (l2) or 8472 (l3)
  --mode      l2 (bridged, default) or l3 (routed: a routing domain per VNI)
  --group     flood through this multicast group instead of head-end replication
  --subnet    overlay subnet, e.g. 10.42.0.0/24 (required for --mode l3)
  --datapath  l3 only: lwt (the kernel's routing and lightweight tunnels, default) or bpf (tc
              programs forwarding from maps); VNIs on one UDP port share their datapath
${WAIT_HELP}`,
  options: {
    name: { type: 'string' },
    mtu: { type: 'string' },
    dstport: { type: 'string' },
    mode: { type: 'string' },
    group: { type: 'string' },
    subnet: { type: 'string' },
    datapath: { type: 'string' },
    ...waitOption,
  },
  optionalValues: waitOptionalValue,
  async run(ctx, values, positionals) {
    const id = oneVniArgument(positionals);
    const wait = waitFrom(values);
    // Validated here as well as on the server, so a typo is reported even when the server is down.
    const vni = normaliseVni({
      id,
      name: values.name as string | undefined,
      mtu: values.mtu,
      dstport: values.dstport,
      mode: values.mode as string | undefined,
      multicastGroup: values.group as string | undefined,
      subnet: values.subnet as string | undefined,
      datapath: values.datapath as string | undefined,
    });
    const c = await client(ctx);
    const created = await unaryCall<Vni__Output>(
      (o, cb) => c.createVni({ vni: vniToProto({ ...vni, revision: 0, createTimeMs: 0, updateTimeMs: 0 }) }, o, cb),
      ctx.timeoutMs,
    );
    const v = vniView(vniFromProto(created));
    printAnswer(ctx, {
      data: v,
      names: [`vni/${v.id}`],
      text: () => `VNI ${v.id} (${v.name}) created at revision ${v.revision}\n`,
    });
    await waitIfAsked(ctx, wait, { vni: v.id, revision: v.revision, deleted: false });
  },
};

const list: Command = {
  name: 'list',
  summary: 'list every VNI',
  usage: 'ctl vni list',
  options: {},
  async run(ctx, _values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const c = await client(ctx);
    const vnis: VniConfig[] = [];
    let pageToken = '';
    do {
      const res = await unaryCall<ListVnisResponse__Output>((o, cb) => c.listVnis({ pageToken }, o, cb), ctx.timeoutMs);
      vnis.push(...res.vnis.map(vniFromProto));
      pageToken = res.nextPageToken;
    } while (pageToken !== '');
    printList(ctx, vniResource, vnis.map(vniView));
  },
};

const show: Command = {
  name: 'show',
  summary: "show one VNI and each host's devices and entries for it",
  usage: 'ctl vni show <vni>',
  options: {},
  completes: 'vnis',
  async run(ctx, _values, positionals) {
    const id = oneVniArgument(positionals);
    const c = await client(ctx);
    const res = await unaryCall<GetVniResponse__Output>((o, cb) => c.getVni({ id }, o, cb), ctx.timeoutMs);
    const v = vniView(vniFromProto(res.vni!));
    const nodes = vniHostViews(res);
    printAnswer(ctx, {
      data: { ...v, nodes },
      names: [`vni/${v.id}`],
      text: () => renderFields(vniFields(v)) + '\n' + tableOf(ctx, vniHostColumns, nodes),
    });
  },
};

const update: Command = {
  name: 'update',
  summary: 'change a VNI in place (name, MTU, flooding, datapath); every node-agent applies it live',
  usage:
    'ctl vni update <vni> [--name NAME] [--mtu N|auto] [--group ADDR | --head-end] [--datapath lwt|bpf] [--expect-revision N] [--wait[=DURATION]]',
  details: `  --name             a new name
  --mtu              576..9216, or auto for the underlay MTU minus the VXLAN overhead
  --group            flood through this multicast group
  --head-end         flood by head-end replication
  --datapath         an l3 VNI's datapath, lwt or bpf; its endpoints move over on every host (no
                     other VNI on its UDP port may keep the old one)
  --expect-revision  apply only if the VNI is still at this revision
${WAIT_HELP}`,
  options: {
    name: { type: 'string' },
    mtu: { type: 'string' },
    group: { type: 'string' },
    'head-end': { type: 'boolean' },
    datapath: { type: 'string' },
    'expect-revision': { type: 'string' },
    ...waitOption,
  },
  optionalValues: waitOptionalValue,
  completes: 'vnis',
  async run(ctx, values, positionals) {
    const id = oneVniArgument(positionals);
    const wait = waitFrom(values);
    if (values.group !== undefined && values['head-end'])
      throw new UsageError('--group and --head-end exclude each other');
    const paths: string[] = [];
    const vni: VniInput = { id };
    if (values.name !== undefined) {
      paths.push('name');
      vni.name = checkName('name', values.name as string);
    }
    if (values.mtu !== undefined) {
      paths.push('mtu');
      vni.mtu = values.mtu === 'auto' ? 0 : checkMtu(values.mtu);
    }
    if (values.group !== undefined || values['head-end']) {
      paths.push('flooding');
      vni.multicastGroup =
        values.group === undefined ? '' : checkMulticastGroup('flooding.multicast_group', values.group as string);
    }
    // The VNI's mode is the server's to check.
    const newDatapath = values.datapath === undefined ? '' : checkDatapath(values.datapath as string, 'l3');
    if (newDatapath) paths.push('datapath');
    if (paths.length === 0)
      throw new UsageError('nothing to change: give --name, --mtu, --group, --head-end or --datapath');
    const expected =
      values['expect-revision'] === undefined
        ? 0
        : checkInteger('--expect-revision', values['expect-revision'], 1, Number.MAX_SAFE_INTEGER);
    const c = await client(ctx);
    const req = {
      vni: {
        id,
        name: vni.name,
        mtu: vni.mtu as number | undefined,
        flooding: vni.multicastGroup ? { multicastGroup: vni.multicastGroup } : { headEnd: {} },
        datapath: datapathToProto[newDatapath],
      },
      updatePaths: paths,
      expectedRevision: expected,
    };
    const updated = vniView(
      vniFromProto(await unaryCall<Vni__Output>((o, cb) => c.updateVni(req, o, cb), ctx.timeoutMs)),
    );
    printAnswer(ctx, {
      data: updated,
      names: [`vni/${id}`],
      text: () => `VNI ${id} updated (${paths.join(', ')}) at revision ${updated.revision}\n`,
    });
    await waitIfAsked(ctx, wait, { vni: id, revision: updated.revision, deleted: false });
  },
};

const remove: Command = {
  name: 'delete',
  summary: 'delete a VNI; every node-agent removes its devices',
  usage: 'ctl vni delete <vni> [--cascade] [--wait[=DURATION]]',
  details: `  A VNI with attached endpoints (ctl endpoint list shows them) is refused: their veths would be left
  behind. --cascade detaches them first, each on its own host (removing the veth and freeing its
  address); if any cannot be detached (its agent is down), the VNI is kept and the error names them.
${WAIT_HELP}`,
  options: { cascade: { type: 'boolean' }, ...waitOption },
  optionalValues: waitOptionalValue,
  completes: 'vnis',
  async run(ctx, values, positionals) {
    const id = oneVniArgument(positionals);
    const wait = waitFrom(values);
    const cascade = values.cascade === true;
    const c = await client(ctx);
    // Detaching on remote hosts takes longer than a plain RPC, as attach does.
    const timeout = cascade ? Math.max(ctx.timeoutMs, 20_000) : ctx.timeoutMs;
    const res = await unaryCall<DeleteVniResponse__Output>((o, cb) => c.deleteVni({ id, cascade }, o, cb), timeout);
    const detached = cascade ? ` (${res.detached} attached endpoint(s) detached)` : '';
    const revision = int64('revision', res.revision);
    printAnswer(ctx, {
      data: { id, revision, detached: res.detached },
      names: [`vni/${id}`],
      text: () => `VNI ${id} deleted at revision ${res.revision}${detached}\n`,
    });
    await waitIfAsked(ctx, wait, { vni: id, revision, deleted: true });
  },
};

export const vniGroup: Group = {
  name: 'vni',
  summary: 'create, list, show, update and delete VNIs',
  commands: [create, list, show, update, remove],
};
