import type { Vni, Vni__Output } from '../generated/vxgossip/v1/Vni';
import { VniConfig, VniInput } from './vni';

const modeToProto = { l2: 'MODE_L2', l3: 'MODE_L3' } as const;
export const datapathToProto = { '': 'DATAPATH_UNSPECIFIED', lwt: 'DATAPATH_LWT', bpf: 'DATAPATH_BPF' } as const;
const datapathFromProto: Record<string, string> = {
  DATAPATH_UNSPECIFIED: '',
  DATAPATH_LWT: 'lwt',
  DATAPATH_BPF: 'bpf',
};

export function vniToProto(vni: VniConfig): Vni {
  return {
    id: vni.id,
    name: vni.name,
    mtu: vni.mtu,
    dstport: vni.dstport,
    mode: modeToProto[vni.mode],
    flooding: vni.multicastGroup ? { multicastGroup: vni.multicastGroup } : { headEnd: {} },
    subnet: vni.subnet,
    datapath: datapathToProto[vni.datapath ?? ''],
    revision: vni.revision,
    createTimeMs: vni.createTimeMs,
    updateTimeMs: vni.updateTimeMs,
  };
}

// Leaves validation to normaliseVni; an enum value this build does not know passes through as text.
export function vniInputFromProto(vni: Vni__Output | null | undefined): VniInput {
  if (!vni) return {};
  const mode =
    vni.mode === 'MODE_L2'
      ? 'l2'
      : vni.mode === 'MODE_L3'
        ? 'l3'
        : vni.mode === 'MODE_UNSPECIFIED'
          ? ''
          : String(vni.mode);
  return {
    id: vni.id,
    name: vni.name,
    mtu: vni.mtu,
    dstport: vni.dstport,
    mode,
    multicastGroup: vni.flooding?.multicastGroup ?? '',
    subnet: vni.subnet,
    datapath: datapathFromProto[vni.datapath] ?? String(vni.datapath),
  };
}

export function vniFromProto(vni: Vni__Output): VniConfig {
  const input = vniInputFromProto(vni);
  return {
    id: vni.id,
    name: vni.name,
    mtu: vni.mtu,
    dstport: vni.dstport,
    mode: input.mode === 'l3' ? 'l3' : 'l2',
    multicastGroup: input.multicastGroup ?? '',
    subnet: vni.subnet,
    datapath: input.datapath === 'bpf' ? 'bpf' : input.mode === 'l3' ? 'lwt' : '',
    revision: Number(vni.revision),
    createTimeMs: Number(vni.createTimeMs),
    updateTimeMs: Number(vni.updateTimeMs),
  };
}
