import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson, writeJsonAtomic } from '../common/atomic-file';
import type { VniConfig } from '../common/vni';
import type { Revocation } from '../common/trust/revocations';
import type { SignedConfig } from '../generated/vxgossip/v1/SignedConfig';

interface Identity {
  node: string;
  // Bumped at every start, and raised when a peer shows a version of ours from a later incarnation:
  // records this agent issues are newer than any it issued before.
  incarnation: number;
}

interface ConfigCache {
  revision: number;
  vnis: VniConfig[];
  revocations?: Revocation[];
  // The configuration as the server signed it (base64 fields), served to peers that lack it.
  signed?: { config: string; signature: string; signer: string };
}

export interface CachedConfig {
  revision: number;
  vnis: VniConfig[];
  revocations: Revocation[];
  signed: SignedConfig;
}

// What the agent keeps in --data-dir across restarts: its identity and the last VNI configuration,
// so a restarted agent keeps its devices right even while the server is unreachable.
export class AgentState {
  private constructor(
    readonly dir: string,
    private identity: Identity,
    private config: ConfigCache,
  ) {}

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

  get incarnation(): number {
    return this.identity.incarnation;
  }

  // The one source of the incarnation: persisted before anything issued under it leaves the host.
  saveIncarnation(incarnation: number): void {
    if (incarnation <= this.identity.incarnation) return;
    this.identity = { ...this.identity, incarnation };
    writeJsonAtomic(path.join(this.dir, 'identity.json'), this.identity);
  }

  get configRevision(): number {
    return this.config.revision;
  }

  get vnis(): VniConfig[] {
    return this.config.vnis;
  }

  get revocations(): Revocation[] {
    return this.config.revocations ?? [];
  }

  get signedConfig(): SignedConfig | undefined {
    const s = this.config.signed;
    if (!s) return undefined;
    const bytes = (b64: string) => Buffer.from(b64, 'base64');
    return { config: bytes(s.config), signature: bytes(s.signature), signer: bytes(s.signer) };
  }

  saveConfig(config: CachedConfig): void {
    const b64 = (b: unknown) => Buffer.from(b as Uint8Array).toString('base64');
    const { signed } = config;
    this.config = {
      revision: config.revision,
      vnis: config.vnis,
      revocations: config.revocations,
      signed: { config: b64(signed.config), signature: b64(signed.signature), signer: b64(signed.signer) },
    };
    writeJsonAtomic(path.join(this.dir, 'vni-config.json'), this.config);
  }
}
