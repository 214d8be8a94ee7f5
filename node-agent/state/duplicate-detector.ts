import { macKey } from '../../common/fdb-state/record';

export interface DuplicateDetectionOptions {
  // EVPN's defaults: 5 moves within 180 s make a duplicate.
  maxMoves: number;
  windowMs: number;
  // How long a duplicate stays frozen before this host contests it again; 'permanent' until an
  // operator clears it (FRR's `dup-addr-detection freeze`).
  freezeMs: number | 'permanent';
  now?: () => number;
}

export const DEFAULT_DUPLICATE_DETECTION: DuplicateDetectionOptions = {
  maxMoves: 5,
  windowMs: 180_000,
  freezeMs: 180_000,
};

export type MoveVerdict = 'moved' | 'froze' | 'frozen';

export interface FrozenMac {
  vni: number;
  mac: string;
  sinceMs: number;
}

// Duplicate detection where a MAC is local, as EVPN does it at the PE that hosts it: each time this
// host has to take a local MAC back from another host's claim counts as a move; the move that
// reaches maxMoves within the window is not made — the MAC is frozen instead, this host stops
// out-bidding (its claim says frozen), and the claims stand still. The freeze ends after freezeMs,
// or when an operator clears it.
export class DuplicateDetector {
  private readonly moves = new Map<string, number[]>();
  private readonly frozenMacs = new Map<string, FrozenMac>();
  private readonly now: () => number;

  constructor(private options: DuplicateDetectionOptions = DEFAULT_DUPLICATE_DETECTION) {
    this.now = options.now ?? Date.now;
  }

  // New bounds (SIGHUP): they are read at each use, so moves counted and MACs frozen stay, judged
  // by the new bounds from now on (the thaw timer is armed again at the next pass).
  reconfigure(options: Omit<DuplicateDetectionOptions, 'now'>): void {
    this.options = { ...options, now: this.now };
  }

  // Asked before this host re-claims a MAC another host's claim now wins.
  move(vni: number, mac: string): MoveVerdict {
    const key = macKey(vni, mac);
    if (this.frozenMacs.has(key)) return 'frozen';
    const now = this.now();
    const recent = this.recentMoves(key, now);
    if (recent.length + 1 >= this.options.maxMoves) {
      this.frozenMacs.set(key, { vni, mac, sinceMs: now });
      this.moves.delete(key);
      return 'froze';
    }
    recent.push(now);
    this.moves.set(key, recent);
    return 'moved';
  }

  isFrozen(vni: number, mac: string): boolean {
    return this.frozenMacs.has(macKey(vni, mac));
  }

  // Lifts every freeze whose time is up and forgets moves older than the window; returns the
  // MACs thawed.
  expire(): FrozenMac[] {
    const now = this.now();
    for (const key of [...this.moves.keys()]) {
      if (this.recentMoves(key, now).length === 0) this.moves.delete(key);
    }
    const { freezeMs } = this.options;
    if (freezeMs === 'permanent') return [];
    const thawed = [...this.frozenMacs].filter(([, f]) => now - f.sinceMs >= freezeMs);
    for (const [key] of thawed) this.frozenMacs.delete(key);
    return thawed.map(([, f]) => f);
  }

  // When the next freeze ends, if any does on its own.
  msUntilNextThaw(): number | undefined {
    const { freezeMs } = this.options;
    if (freezeMs === 'permanent' || this.frozenMacs.size === 0) return undefined;
    let oldest = Infinity;
    for (const f of this.frozenMacs.values()) oldest = Math.min(oldest, f.sinceMs);
    return Math.max(0, oldest + freezeMs - this.now());
  }

  // An operator cleared the duplicate: contest it again, with a fresh move count.
  clear(vni: number, mac: string): boolean {
    const key = macKey(vni, mac);
    this.moves.delete(key);
    return this.frozenMacs.delete(key);
  }

  frozen(): FrozenMac[] {
    return [...this.frozenMacs.values()];
  }

  private recentMoves(key: string, now: number): number[] {
    return (this.moves.get(key) ?? []).filter((t) => t > now - this.options.windowMs);
  }
}
