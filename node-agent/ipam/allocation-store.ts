import * as fs from 'node:fs';
import { writeJsonAtomic } from '../../common/atomic-file';

// What this host holds, kept in its data dir so a restart hands every handle the same address and
// allocates from the same blocks while the server is down.

export interface StoredBlock {
  vni: number;
  cidr: string;
  // The VNI's subnet the block was cut from: a VNI created again with another subnet has other blocks.
  subnet: string;
  // Empty, and being given back to the server (retried while it cannot be reached).
  releasing?: boolean;
}

export interface StoredAllocation {
  vni: number;
  handle: string;
  // With the subnet's prefix length.
  ip: string;
}

interface IpamFile {
  blocks: StoredBlock[];
  allocations: StoredAllocation[];
}

// Bounds on what the file may hold: a host's containers, with room to spare, in a few MB.
export const MAX_ALLOCATIONS = 65_536;
export const MAX_HANDLE_BYTES = 256;
const MAX_FILE_BYTES = 64 * 1024 * 1024;

const key = (vni: number, s: string) => `${vni}/${s}`;

function readIpamFile(file: string): IpamFile {
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_FILE_BYTES)
      throw new Error(`${file} is larger than ${MAX_FILE_BYTES} bytes: it cannot be this host's allocations`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { blocks: [], allocations: [] };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as IpamFile;
    if (!Array.isArray(parsed.blocks) || !Array.isArray(parsed.allocations))
      throw new Error('blocks or allocations missing');
    return parsed;
  } catch (err) {
    throw new Error(
      `${file} is not this agent's address allocations (${(err as Error).message}); move it away to start afresh (addresses in use may then be handed out again)`,
    );
  }
}

// Blocks and allocations in memory, written whole (temp file + rename, fsynced) by save().
export class AllocationStore {
  private readonly blocksByKey = new Map<string, StoredBlock>();
  private readonly byHandle = new Map<string, StoredAllocation>();
  private readonly byIp = new Map<string, StoredAllocation>();

  private constructor(private readonly file: string) {}

  static open(file: string): AllocationStore {
    const store = new AllocationStore(file);
    const { blocks, allocations } = readIpamFile(file);
    for (const b of blocks) store.addBlock(b);
    for (const a of allocations) store.add(a);
    return store;
  }

  blocks(vni?: number): StoredBlock[] {
    return [...this.blocksByKey.values()].filter((b) => vni === undefined || b.vni === vni);
  }

  allocations(vni?: number): StoredAllocation[] {
    return [...this.byHandle.values()].filter((a) => vni === undefined || a.vni === vni);
  }

  get size(): number {
    return this.byHandle.size;
  }

  allocationOf(vni: number, handle: string): StoredAllocation | undefined {
    return this.byHandle.get(key(vni, handle));
  }

  // Addresses are compared as the allocator writes them: canonical, with the subnet's prefix length.
  holderOf(vni: number, ip: string): StoredAllocation | undefined {
    return this.byIp.get(key(vni, ip));
  }

  addBlock(block: StoredBlock): void {
    this.blocksByKey.set(key(block.vni, block.cidr), block);
  }

  removeBlock(vni: number, cidr: string): void {
    this.blocksByKey.delete(key(vni, cidr));
  }

  add(a: StoredAllocation): void {
    this.byHandle.set(key(a.vni, a.handle), a);
    this.byIp.set(key(a.vni, a.ip), a);
  }

  remove(a: StoredAllocation): void {
    this.byHandle.delete(key(a.vni, a.handle));
    this.byIp.delete(key(a.vni, a.ip));
  }

  save(): void {
    writeJsonAtomic(this.file, { blocks: this.blocks(), allocations: this.allocations() } satisfies IpamFile);
  }
}
