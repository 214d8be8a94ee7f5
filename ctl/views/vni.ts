import type { VniConfig } from '../../common/vni';
import type { GetVniResponse__Output } from '../../generated/vxgossip/v1/GetVniResponse';
import type { Resource } from './resource';
import { cell, orNull, time } from './values';

// A VNI as ctl prints it. mtu "auto": the underlay's MTU minus the VXLAN overhead (protobuf's 0);
// datapath null on an l2 VNI, which has none; multicastGroup null when flooding is head-end.
export interface VniView {
  id: number;
  name: string;
  mode: 'l2' | 'l3';
  datapath: 'lwt' | 'bpf' | null;
  mtu: number | 'auto';
  dstport: number;
  flooding: 'head-end' | 'multicast';
  multicastGroup: string | null;
  subnet: string | null;
  revision: number;
  createTime: string | null;
  updateTime: string | null;
}

export function vniView(v: VniConfig): VniView {
  return {
    id: v.id,
    name: v.name,
    mode: v.mode,
    datapath: v.datapath || null,
    mtu: v.mtu === 0 ? 'auto' : v.mtu,
    dstport: v.dstport,
    flooding: v.multicastGroup ? 'multicast' : 'head-end',
    multicastGroup: orNull(v.multicastGroup),
    subnet: orNull(v.subnet),
    revision: v.revision,
    createTime: time('createTimeMs', v.createTimeMs),
    updateTime: time('updateTimeMs', v.updateTimeMs),
  };
}

const flooding = (v: VniView) => (v.multicastGroup ? `multicast ${v.multicastGroup}` : 'head-end');

export const vniResource: Resource<VniView> = {
  kind: 'vni',
  name: (v) => String(v.id),
  columns: [
    { header: 'VNI', cell: (v) => v.id },
    { header: 'NAME', cell: (v) => v.name },
    { header: 'MODE', cell: (v) => v.mode },
    { header: 'DATAPATH', cell: (v) => cell(v.datapath) },
    { header: 'MTU', cell: (v) => v.mtu },
    { header: 'DSTPORT', cell: (v) => v.dstport },
    { header: 'FLOODING', cell: flooding },
    { header: 'SUBNET', cell: (v) => cell(v.subnet) },
    { header: 'REVISION', cell: (v) => v.revision },
    { header: 'CREATED', cell: (v) => cell(v.createTime), wide: true },
    { header: 'UPDATED', cell: (v) => cell(v.updateTime), wide: true },
  ],
};

// `ctl vni show`: the VNI's fields, one per line.
export function vniFields(v: VniView): Array<[string, string | number]> {
  return [
    ['VNI', v.id],
    ['Name', v.name],
    ['Mode', v.mode],
    ['Datapath', cell(v.datapath)],
    ['MTU', v.mtu],
    ['Dstport', v.dstport],
    ['Flooding', flooding(v)],
    ['Subnet', cell(v.subnet)],
    ['Revision', v.revision],
    ['Created', cell(v.createTime)],
    ['Updated', cell(v.updateTime)],
  ];
}

// What one host reported for the VNI: its devices and how many of the entries it wants it holds.
export interface VniHostView {
  node: string;
  devicesReady: boolean;
  desired: number;
  programmed: number;
  error: string | null;
}

export function vniHostViews(res: GetVniResponse__Output): VniHostView[] {
  return res.nodes.map((n) => ({
    node: n.node,
    devicesReady: n.status?.devicesReady ?? false,
    desired: n.status?.desired ?? 0,
    programmed: n.status?.programmed ?? 0,
    error: orNull(n.status?.error ?? ''),
  }));
}

export const vniHostColumns: Resource<VniHostView>['columns'] = [
  { header: 'NODE', cell: (n) => n.node },
  { header: 'DEVICES', cell: (n) => (n.devicesReady ? 'ready' : 'not ready') },
  { header: 'DESIRED', cell: (n) => n.desired },
  { header: 'PROGRAMMED', cell: (n) => n.programmed },
  { header: 'ERROR', cell: (n) => cell(n.error) },
];
