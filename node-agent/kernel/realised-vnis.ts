// The devices of one realised L2 VNI.
export interface VniPorts {
  vni: number;
  vxlanIndex: number;
  bridgeIndex: number;
  // Head-end replication: flood entries per remote VTEP. With a multicast group the device floods.
  headEnd: boolean;
}

// One realised L3 VNI: the shared external device it routes through, and the subnet it routes.
export interface L3Vni {
  vni: number;
  deviceIndex: number;
  device: string;
  subnet: string;
}

// What the device step realised: the other steps program only these.
export interface RealisedVnis {
  l2: VniPorts[];
  l3: L3Vni[];
}
