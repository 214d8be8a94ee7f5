// Lifeguard's dynamic suspicion timeout: it starts at max and shrinks towards min as independent
// peers confirm the suspicion, so a truly dead node is declared quickly and a slow one gets time to
// refute.
export class Suspicion {
  private readonly confirmations = new Set<string>();
  private timer: NodeJS.Timeout;
  private readonly start = Date.now();

  constructor(
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly onTimeout: (confirmations: number) => void,
  ) {
    this.confirmations.add(from);
    const initial = k < 1 ? minMs : maxMs;
    this.timer = setTimeout(() => onTimeout(this.confirmations.size - 1), initial);
  }

  // Returns true for a new, distinct confirmation (which the caller re-gossips).
  confirm(from: string): boolean {
    if (this.confirmations.size - 1 >= this.k || this.confirmations.has(from)) return false;
    this.confirmations.add(from);
    const n = this.confirmations.size - 1;
    const frac = Math.log(n + 1) / Math.log(this.k + 1);
    const timeout = Math.max(this.minMs, Math.floor(this.maxMs - frac * (this.maxMs - this.minMs)));
    const remaining = Math.max(0, timeout - (Date.now() - this.start));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimeout(n), remaining);
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

// memberlist's suspicionTimeout: SuspicionMult x max(1, log10(max(1, n))) x interval.
export function suspicionTimeoutMs(mult: number, n: number, intervalMs: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor((mult * Math.floor(scale * 1000) * intervalMs) / 1000);
}
