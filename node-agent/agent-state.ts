import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, writeJsonAtomic } from '../common/atomic-file';
import type { VniConfig } from '../common/vni';

interface Identity {
  node: string;
  // Bumped at every start: records this agent issues after a restart are newer than any before it.
  incarnation: number;
}

interface ConfigCache {
  revision: number;
  vnis: VniConfig[];
}

// What the agent keeps in --data-dir across restarts: its identity and the last VNI configuration,
// so a restarted agent keeps its devices right even while the server is unreachable.
export class AgentState {
  private constructor(private readonly dir: string, readonly identity: Identity, private config: ConfigCache) {}

  static open(dir: string, node: string): AgentState {
    fs.mkdirSync(dir, { recursive: true });
    const identityFile = path.join(dir, 'identity.json');
    const previous = readJson<Identity>(identityFile);
    if (previous && previous.node !== node) {
      throw new Error(`${dir} belongs to node "${previous.node}", not "${node}": give each agent its own --data-dir`);
    }
    const identity = { node, incarnation: (previous?.incarnation ?? 0) + 1 };
    writeJsonAtomic(identityFile, identity);
    const config = readJson<ConfigCache>(path.join(dir, 'vni-config.json')) ?? { revision: 0, vnis: [] };
    return new AgentState(dir, identity, config);
  }

  get configRevision(): number {
    return this.config.revision;
  }

  get vnis(): VniConfig[] {
    return this.config.vnis;
  }

  saveConfig(revision: number, vnis: VniConfig[]): void {
    this.config = { revision, vnis };
    writeJsonAtomic(path.join(this.dir, 'vni-config.json'), this.config);
  }
}
