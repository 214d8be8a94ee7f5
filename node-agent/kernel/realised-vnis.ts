import type { L3Datapath } from '../../common/vni';

// The devices of one realised L2 VNI.
export interface VniPorts {
  vni: number;
  vxlanIndex: number;
  bridgeIndex: number;
  // Head-end replication: flood entries per remote VTEP. With a multicast group the device floods.
  headEnd: boolean;
}

// One realised L3 VNI: the shared external device it routes through, the subnet it routes, and how:
// the kernel's routes (l3-route-writer.ts) or the BPF programs (bpf-datapath-writer.ts).
export interface L3Vni {
  vni: number;
  deviceIndex: number;
  device: string;
  subnet: string;
  datapath: L3Datapath;
}

// What the device step realised: the other steps program only these.
export interface RealisedVnis {
  l2: VniPorts[];
  l3: L3Vni[];
}
