// Lifeguard's local health: a node that misses acks or must refute accusations is probably the slow
// one, so it probes and suspects less eagerly (timeouts scaled by score + 1).
export class Awareness {
  private value = 0;

  constructor(private readonly max: number) {}

  apply(delta: number): void {
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta));
  }

  get score(): number {
    return this.value;
  }

  scale(ms: number): number {
    return ms * (this.value + 1);
  }
}
