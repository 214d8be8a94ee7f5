import { checkRoutedSubnet } from './l3-subnet';
import {
  DEFAULT_DSTPORT,
  MTU_MAX,
  MTU_MIN,
  ValidationError,
  checkInteger,
  checkMulticastGroup,
  checkName,
  checkSubnet,
  checkVniId,
  shown,
} from './validation';

export type VniMode = 'l2' | 'l3';
// How an L3 VNI forwards: the kernel's routing with lightweight tunnels, or the BPF programs.
export type L3Datapath = 'lwt' | 'bpf';

// A VNI's configuration as the server stores it and agents realise it.
export interface VniConfig {
  id: number;
  name: string;
  // 0: derived from the underlay's MTU.
  mtu: number;
  dstport: number;
  mode: VniMode;
  // Empty: head-end replication.
  multicastGroup: string;
  // Empty: none.
  subnet: string;
  // L3 VNIs only ('' for l2; a configuration from before datapaths may lack it: lwt).
  datapath: L3Datapath | '';
  revision: number;
  createTimeMs: number;
  updateTimeMs: number;
}

export interface VniInput {
  id?: unknown;
  name?: string;
  mtu?: unknown;
  dstport?: unknown;
  mode?: string;
  multicastGroup?: string;
  subnet?: string;
  datapath?: string;
}

export function defaultVniName(id: number): string {
  return `vni-${id}`;
}

export function checkMode(value: string | undefined): VniMode {
  if (value === undefined || value === '' || value === 'l2') return 'l2';
  if (value === 'l3') return 'l3';
  throw new ValidationError('mode', `${shown(value)} must be l2 or l3`);
}

// Empty or absent: lwt for an l3 VNI, none for an l2 one.
export function checkDatapath(value: string | undefined, mode: VniMode): L3Datapath | '' {
  if (value === undefined || value === '') return mode === 'l3' ? 'lwt' : '';
  if (value !== 'lwt' && value !== 'bpf') throw new ValidationError('datapath', `${shown(value)} must be lwt or bpf`);
  if (mode !== 'l3')
    throw new ValidationError(
      'datapath',
      `${shown(value)} applies to l3 VNIs only: an l2 VNI is bridged (vxlan<VNI> in br<VNI>) and routes nothing`,
    );
  return value;
}

export function checkMtu(value: unknown): number {
  if (value === undefined || value === 0 || value === '0') return 0;
  return checkInteger('mtu', value, MTU_MIN, MTU_MAX);
}

// L3 VNIs route through one `external` vxlan device per port, and the kernel cannot share a UDP
// port between such a device and ordinary VNI devices: L3 VNIs default to another port.
export const DEFAULT_L3_DSTPORT = 8472;

export function checkDstport(value: unknown, mode: VniMode = 'l2'): number {
  if (value === undefined || value === 0 || value === '0') return mode === 'l3' ? DEFAULT_L3_DSTPORT : DEFAULT_DSTPORT;
  return checkInteger('dstport', value, 1, 65535);
}

type PortUser = Pick<VniConfig, 'id' | 'mode' | 'dstport'> & { datapath?: VniConfig['datapath'] };
const datapathOf = (v: PortUser) => (v.mode === 'l3' ? v.datapath || 'lwt' : '');

// The kernel constraint behind DEFAULT_L3_DSTPORT, checked against the other VNIs of the cluster; and
// ours: the BPF programs take over the port's external device (what they do not forward, they drop),
// so an lwt and a bpf VNI cannot share a port either.
export function checkPortSharing(vni: PortUser, others: PortUser[]): void {
  const onPort = others.filter((o) => o.id !== vni.id && o.dstport === vni.dstport);
  const clash = onPort.find((o) => o.mode !== vni.mode);
  if (clash) {
    throw new ValidationError(
      'dstport',
      `UDP port ${vni.dstport} is used by ${clash.mode} VNI ${clash.id}; l2 and l3 VNIs cannot share a port (the kernel gives l3's external device a socket of its own); choose another --dstport`,
    );
  }
  const other = onPort.find((o) => datapathOf(o) !== datapathOf(vni));
  if (other) {
    throw new ValidationError(
      'datapath',
      `UDP port ${vni.dstport} is used by l3 VNI ${other.id} on the ${datapathOf(other)} datapath; ${datapathOf(vni)} and ${datapathOf(other)} VNIs cannot share a port (the BPF programs take the port's external device over); choose another --dstport or --datapath ${datapathOf(other)}`,
    );
  }
}

// Validates a whole VNI and fills defaults; throws ValidationError naming the first bad field.
export function normaliseVni(input: VniInput): Omit<VniConfig, 'revision' | 'createTimeMs' | 'updateTimeMs'> {
  const id = checkVniId(input.id);
  const name = input.name === undefined || input.name === '' ? defaultVniName(id) : checkName('name', input.name);
  const mode = checkMode(input.mode);
  const multicastGroup = input.multicastGroup
    ? checkMulticastGroup('flooding.multicast_group', input.multicastGroup)
    : '';
  const subnet = input.subnet ? checkSubnet('subnet', input.subnet) : '';
  if (mode === 'l3' && subnet === '')
    throw new ValidationError('subnet', 'an l3 VNI needs a subnet (e.g. 10.42.0.0/24) to route');
  if (mode === 'l3') checkRoutedSubnet('subnet', subnet);
  if (mode === 'l3' && multicastGroup !== '') {
    throw new ValidationError(
      'flooding.multicast_group',
      'an l3 VNI routes and does not flood; multicast flooding applies to l2 VNIs',
    );
  }
  return {
    id,
    name,
    mtu: checkMtu(input.mtu),
    dstport: checkDstport(input.dstport, mode),
    mode,
    multicastGroup,
    subnet,
    datapath: checkDatapath(input.datapath, mode),
  };
}

// Fields an update may change in place; the others shape the device or routing and are fixed at creation.
export const UPDATABLE_FIELDS = ['name', 'mtu', 'flooding', 'datapath'] as const;
