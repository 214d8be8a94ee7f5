import * as path from 'node:path';
import { readJson, writeJsonAtomic } from '../../common/atomic-file';

// What Docker told the driver, kept in the agent's data dir: after an agent restart Docker goes on
// with the same network and endpoint IDs (Join, Leave, DeleteEndpoint) and never creates them again.

export interface DockerNetwork {
  id: string;
  vni: number;
  subnet: string;
}

export interface DockerEndpoint {
  id: string;
  network: string;
  vni: number;
  // With the subnet's prefix length, as the IPAM driver handed it out.
  ip: string;
  mac: string;
  // The veth: host side, and the workload side Docker moves into the container.
  hostInterface: string;
  peerInterface: string;
}

interface Saved {
  networks: DockerNetwork[];
  endpoints: DockerEndpoint[];
}

// Docker creates one network per `docker network create` and one endpoint per container and network:
// far more than this is not Docker, and a file past it is refused rather than loaded.
export const MAX_DOCKER_NETWORKS = 1_024;
export const MAX_DOCKER_ENDPOINTS = 65_536;

export class DockerState {
  private readonly networks = new Map<string, DockerNetwork>();
  private readonly endpoints = new Map<string, DockerEndpoint>();

  private constructor(private readonly file: string | undefined) {}

  // In --data-dir; a state that is not saved (tests) without one.
  static open(dataDir: string | undefined): DockerState {
    const file = dataDir === undefined ? undefined : path.join(dataDir, 'docker.json');
    const state = new DockerState(file);
    const saved = file === undefined ? undefined : readJson<Saved>(file);
    if (!saved) return state;
    if (saved.networks.length > MAX_DOCKER_NETWORKS || saved.endpoints.length > MAX_DOCKER_ENDPOINTS)
      throw new Error(`${file} holds more Docker networks or endpoints than a host has; move it away to start afresh`);
    for (const n of saved.networks) state.networks.set(n.id, n);
    for (const e of saved.endpoints) state.endpoints.set(e.id, e);
    return state;
  }

  network(id: string): DockerNetwork | undefined {
    return this.networks.get(id);
  }

  networksOf(vni: number): DockerNetwork[] {
    return [...this.networks.values()].filter((n) => n.vni === vni);
  }

  endpoint(id: string): DockerEndpoint | undefined {
    return this.endpoints.get(id);
  }

  endpointsOf(network: string): DockerEndpoint[] {
    return [...this.endpoints.values()].filter((e) => e.network === network);
  }

  putNetwork(network: DockerNetwork): void {
    if (!this.networks.has(network.id) && this.networks.size >= MAX_DOCKER_NETWORKS)
      throw new Error(`this host has ${MAX_DOCKER_NETWORKS} vxgossip networks already; remove unused ones first`);
    this.networks.set(network.id, network);
    this.save();
  }

  deleteNetwork(id: string): void {
    if (this.networks.delete(id)) this.save();
  }

  putEndpoint(endpoint: DockerEndpoint): void {
    if (!this.endpoints.has(endpoint.id) && this.endpoints.size >= MAX_DOCKER_ENDPOINTS)
      throw new Error(
        `this host has ${MAX_DOCKER_ENDPOINTS} vxgossip endpoints already; remove unused containers first`,
      );
    this.endpoints.set(endpoint.id, endpoint);
    this.save();
  }

  deleteEndpoint(id: string): void {
    if (this.endpoints.delete(id)) this.save();
  }

  private save(): void {
    if (this.file === undefined) return;
    writeJsonAtomic(this.file, { networks: [...this.networks.values()], endpoints: [...this.endpoints.values()] });
  }
}
