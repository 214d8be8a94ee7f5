import type { ProberClock } from '../../node-agent/liveness/vtep-prober';

// One-shot timers run by hand, in order, the clock jumping to each.
export class FakeClock implements ProberClock {
  time = 1000;
  // How late every timer fires (a busy event loop), or how early (negative).
  lateMs = 0;
  private timers: Array<{ at: number; callback: () => void; live: boolean }> = [];

  now = () => this.time;

  setTimer(ms: number, callback: () => void): () => void {
    const timer = { at: this.time + Math.max(0, ms + this.lateMs), callback, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  pending(): number {
    this.timers = this.timers.filter((t) => t.live);
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.pending();
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      next.live = false;
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = end;
  }
}
