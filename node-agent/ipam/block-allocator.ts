import { blockIndexOf, blockIndexOfCidr, sameAddress, subnetBlocks, usableAddresses } from '../../common/ipam-blocks';
import { l3Gateway } from '../../common/l3-subnet';
import type { Logger } from '../../common/log';
import { SerialQueue } from '../../common/serial-queue';
import { checkVniId } from '../../common/validation';
import { AgentError } from '../agent-errors';
import { AllocationStore, MAX_ALLOCATIONS, MAX_HANDLE_BYTES, StoredAllocation, StoredBlock } from './allocation-store';
import type { BlockClaims } from './block-client';
import type { HostIpam, IpamAddress, IpamRequest } from './host-ipam';

// An empty block the server could not take back is offered again this often.
const RELEASE_RETRY_MS = 30_000;

export interface BlockAllocatorDeps {
  store: AllocationStore;
  claims: BlockClaims;
  // The VNI's subnet as this host's configuration has it: undefined for no such VNI, '' for none.
  subnetOf: (vni: number) => string | undefined;
  log: Logger;
  releaseRetryMs?: number;
}

const blockKey = (b: { vni: number; cidr: string }) => `${b.vni}/${b.cidr}`;

function checkHandle(handle: unknown): string {
  if (typeof handle !== 'string' || handle === '' || Buffer.byteLength(handle) > MAX_HANDLE_BYTES)
    throw new AgentError('invalid-argument', `handle: give a name of 1 to ${MAX_HANDLE_BYTES} bytes for the address`);
  return handle;
}

// HostIpam from blocks the server gives this host alone: addresses come from our blocks, lowest
// first; a new block is claimed only when ours are full; an emptied block goes back to the server.
// One operation at a time, so two allocations never take the same address or claim two blocks at once.
export class BlockAllocator implements HostIpam {
  private readonly queue = new SerialQueue();
  // Blocks whose release is on its way to the server: not handed addresses from until it answers.
  private readonly inFlight = new Map<string, Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: BlockAllocatorDeps) {}

  // Offers again, now and then periodically, what could not be released before (a restart included).
  start(): void {
    void this.retryReleases();
    this.retryTimer = setInterval(() => void this.retryReleases(), this.deps.releaseRetryMs ?? RELEASE_RETRY_MS);
  }

  close(): void {
    clearInterval(this.retryTimer);
  }

  allocated(vni?: number): IpamAddress[] {
    return this.deps.store.allocations(vni).map((a) => this.addressOf(a));
  }

  // Whether an address falls in one of this host's blocks of the VNI (ours to hand out).
  holds(vni: number, ip: string): boolean {
    const subnet = this.deps.subnetOf(vni);
    return subnet !== undefined && subnet !== '' && this.blockHolding(vni, subnet, ip) !== undefined;
  }

  async allocate(request: IpamRequest): Promise<IpamAddress> {
    const vni = checkVniId(request.vni, 'vni');
    const handle = checkHandle(request.handle);
    return this.queue.run(async () => {
      const { store } = this.deps;
      const existing = store.allocationOf(vni, handle);
      if (existing) return this.addressOf(existing);
      const subnet = this.subnetOf(vni);
      if (store.size >= MAX_ALLOCATIONS)
        throw new AgentError('resource-exhausted', `this host holds ${MAX_ALLOCATIONS} addresses, the most it may`);
      const ip = (request.ip && this.requested(vni, subnet, request.ip)) || (await this.anyFree(vni, subnet));
      const allocation = { vni, handle, ip };
      store.add(allocation);
      store.save();
      this.deps.log.info('address allocated', { ...allocation });
      return this.addressOf(allocation);
    });
  }

  release(vni: number, handle: string): Promise<boolean> {
    return this.queue.run(async () => {
      const { store } = this.deps;
      const allocation = store.allocationOf(vni, handle);
      if (!allocation) return false;
      store.remove(allocation);
      const subnet = this.deps.subnetOf(vni);
      const block = subnet ? this.blockHolding(vni, subnet, allocation.ip) : undefined;
      const emptied = block && !store.allocations(vni).some((a) => this.blockHolding(vni, subnet!, a.ip) === block);
      if (emptied) block.releasing = true;
      store.save();
      this.deps.log.info('address released', { ...allocation });
      if (emptied) void this.giveBack(block);
      return true;
    });
  }

  // A VNI gone from the configuration takes its blocks and addresses with it (the server has dropped
  // them), and so does one created again with another subnet.
  prune(vnis: Array<{ id: number; subnet: string }>): Promise<void> {
    return this.queue.run(async () => {
      const { store, log } = this.deps;
      const subnets = new Map(vnis.map((v) => [v.id, v.subnet]));
      const stale = store.blocks().filter((b) => subnets.get(b.vni) !== b.subnet);
      if (stale.length === 0) return;
      const staleVnis = new Set(stale.map((b) => b.vni));
      for (const b of stale) store.removeBlock(b.vni, b.cidr);
      const outside = (a: StoredAllocation, subnet = subnets.get(a.vni)) =>
        !subnet || blockIndexOf(subnetBlocks(subnet), a.ip) === undefined;
      for (const a of store.allocations()) if (staleVnis.has(a.vni) && outside(a)) store.remove(a);
      store.save();
      log.info('address blocks of deleted VNIs dropped', { blocks: stale.map(blockKey) });
    });
  }

  async retryReleases(): Promise<void> {
    await Promise.all(this.inFlight.values());
    const pending = this.deps.store.blocks().filter((b) => b.releasing && !this.inFlight.has(blockKey(b)));
    await Promise.all(pending.map((b) => this.giveBack(b)));
  }

  private subnetOf(vni: number): string {
    const subnet = this.deps.subnetOf(vni);
    if (subnet === undefined)
      throw new AgentError('not-found', `VNI ${vni} does not exist in this host's configuration: create it first`);
    if (subnet === '')
      throw new AgentError(
        'failed-precondition',
        `VNI ${vni} has no subnet to hand out addresses from: give the VNI a subnet, or give the address yourself`,
      );
    return subnet;
  }

  // Blocks of the VNI's current subnet that can hand out addresses now.
  private usableBlocks(vni: number, subnet: string): StoredBlock[] {
    return this.deps.store
      .blocks(vni)
      .filter((b) => b.subnet === subnet && !this.inFlight.has(blockKey(b)))
      .sort((a, b) => Number(a.releasing ?? false) - Number(b.releasing ?? false));
  }

  // The block of ours an address falls in, also one being given back.
  private blockHolding(vni: number, subnet: string, ip: string): StoredBlock | undefined {
    const s = subnetBlocks(subnet);
    const index = blockIndexOf(s, ip);
    return this.deps.store.blocks(vni).find((b) => b.subnet === subnet && blockIndexOfCidr(s, b.cidr) === index);
  }

  // The address asked for, if it is in one of our blocks and free; undefined if outside them (any will do).
  private requested(vni: number, subnet: string, ip: string): string | undefined {
    const block = this.blockHolding(vni, subnet, ip);
    if (!block) return undefined;
    if (this.inFlight.has(blockKey(block)))
      throw new AgentError(
        'unavailable',
        `${ip} is in block ${block.cidr}, which this host is giving back: retry in a moment`,
      );
    const s = subnetBlocks(subnet);
    const address = usableAddresses(s, blockIndexOfCidr(s, block.cidr)).find((a) => sameAddress(a, ip));
    if (!address)
      throw new AgentError(
        'invalid-argument',
        `ip: ${ip} is reserved in VNI ${vni} (its gateway, network or broadcast address)`,
      );
    const holder = this.deps.store.holderOf(vni, address);
    if (holder) throw new AgentError('already-exists', `${address} is taken in VNI ${vni} by ${holder.handle}`);
    block.releasing = undefined;
    return address;
  }

  private freeIn(s: ReturnType<typeof subnetBlocks>, block: StoredBlock): string | undefined {
    return usableAddresses(s, blockIndexOfCidr(s, block.cidr)).find((a) => !this.deps.store.holderOf(block.vni, a));
  }

  private async anyFree(vni: number, subnet: string): Promise<string> {
    const s = subnetBlocks(subnet);
    for (const block of this.usableBlocks(vni, subnet)) {
      const free = this.freeIn(s, block);
      if (free) {
        // An empty block not yet given back is taken up again rather than a new one claimed.
        block.releasing = undefined;
        return free;
      }
    }
    const block = await this.claim(vni, s);
    const free = this.freeIn(s, block);
    if (!free) throw new AgentError('resource-exhausted', `block ${block.cidr} of VNI ${vni} has no usable address`);
    return free;
  }

  private async claim(vni: number, s: ReturnType<typeof subnetBlocks>): Promise<StoredBlock> {
    const { store, claims, log } = this.deps;
    const known = store.blocks(vni).map((b) => b.cidr);
    let claimed: { cidr: string; subnet: string };
    try {
      claimed = await claims.claim(vni, known);
    } catch (err) {
      if (err instanceof AgentError && err.kind === 'unavailable')
        throw new AgentError(
          'unavailable',
          `every address block of VNI ${vni} on this host is full, and ${err.message}`,
        );
      throw err;
    }
    // What the server answers must be a block of the subnet we know, and not one we hold already.
    if (claimed.subnet !== s.subnet || known.includes(claimed.cidr))
      throw new AgentError(
        'unavailable',
        `the server answered block ${claimed.cidr} of ${claimed.subnet} for VNI ${vni}, whose subnet here is ${s.subnet}: the configuration is catching up, retry`,
      );
    blockIndexOfCidr(s, claimed.cidr);
    const block: StoredBlock = { vni, cidr: claimed.cidr, subnet: s.subnet };
    store.addBlock(block);
    store.save();
    log.info('address block claimed', { vni, block: block.cidr });
    return block;
  }

  // Asks the server to take an empty block back; kept (and retried) if it cannot be reached, dropped
  // if the server says it is not ours.
  private giveBack(block: StoredBlock): Promise<void> {
    const sent = this.sendRelease(block);
    this.inFlight.set(blockKey(block), sent);
    return sent;
  }

  private async sendRelease(block: StoredBlock): Promise<void> {
    const { store, claims, log } = this.deps;
    const key = blockKey(block);
    let keep = false;
    try {
      await claims.release(block.vni, block.cidr);
      log.info('address block released', { vni: block.vni, block: block.cidr });
    } catch (err) {
      keep = err instanceof AgentError && err.kind === 'unavailable';
      log.warn(keep ? 'cannot release an empty address block yet: retrying later' : 'address block dropped', {
        vni: block.vni,
        block: block.cidr,
        error: (err as Error).message,
      });
    }
    await this.queue.run(async () => {
      this.inFlight.delete(key);
      if (keep || !block.releasing) return;
      store.removeBlock(block.vni, block.cidr);
      store.save();
    });
  }

  private addressOf(a: StoredAllocation): IpamAddress {
    const subnet = this.deps.store.blocks(a.vni)[0]?.subnet ?? this.deps.subnetOf(a.vni) ?? '';
    return { vni: a.vni, handle: a.handle, ip: a.ip, gateway: subnet ? l3Gateway(subnet) : '' };
  }
}
