// What the agent's address management offers the ways a workload joins a VNI on this host (ctl endpoint
// attach without --ip, the Docker IPAM driver, the CNI plugin). Addresses come from blocks of the VNI's
// subnet that the server gives this host alone (Calico's block affinity): no address is handed out twice
// in the cluster, and a host keeps allocating from its blocks while the server is down.

export interface IpamAddress {
  vni: number;
  // The stable name of what holds the address: a Docker endpoint ID, a CNI container ID and interface,
  // or netns/interface for ctl.
  handle: string;
  // With the prefix length of the VNI's subnet, e.g. 10.42.0.5/24.
  ip: string;
  // The subnet's gateway address (its first address: the anycast gateway of an L3 VNI), never handed out.
  gateway: string;
}

export interface IpamRequest {
  vni: number;
  handle: string;
  // That address, if free here; otherwise any.
  ip?: string;
}

// Failures are AgentErrors: 'not-found' (no such VNI), 'failed-precondition' (the VNI has no subnet),
// 'resource-exhausted' (no free address, no free block), 'unavailable' (our blocks are full and the
// server cannot be asked for another), 'already-exists' (the address asked for is taken).
export interface HostIpam {
  // Asking again with the same handle returns the same address.
  allocate(request: IpamRequest): Promise<IpamAddress>;
  // Frees the handle's address; a block that empties goes back to the server. False for an unknown handle.
  release(vni: number, handle: string): Promise<boolean>;
  // Every address allocated on this host, in one VNI or all.
  allocated(vni?: number): IpamAddress[];
}
