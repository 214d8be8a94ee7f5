// At most `limit` uses per clock second: a fixed window, enough to bound what an outside input can
// make us do, without a timer.
export class PerSecondBudget {
  private second = -1;
  private used = 0;

  constructor(
    readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(): boolean {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      this.second = second;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }
}
