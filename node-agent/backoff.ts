// Exponential backoff with jitter, so agents restarted together do not reconnect in lockstep.
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs = 200,
    private readonly maxMs = 10_000,
    private readonly random = Math.random,
  ) {}

  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt++;
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
