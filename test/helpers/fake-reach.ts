import { EventEmitter } from 'node:events';
import type { VtepReachability } from '../../node-agent/liveness/host-liveness';

type Answer = 'answering' | 'silent';

// A VTEP prober whose answers the test decides: a watched VTEP answers until told otherwise.
export class FakeReach extends EventEmitter<{ change: [string, Answer] }> implements VtepReachability {
  readonly watched = new Map<string, Answer>();
  // How long each watched VTEP has been quiet, as the test says (0 unless set).
  readonly quiet = new Map<string, number>();

  watch(vtep: string): void {
    if (!this.watched.has(vtep)) this.watched.set(vtep, 'answering');
  }

  unwatch(vtep: string): void {
    this.watched.delete(vtep);
  }

  answer(vtep: string): Answer | undefined {
    return this.watched.get(vtep);
  }

  quietMs(vtep: string): number | undefined {
    return this.watched.has(vtep) ? (this.quiet.get(vtep) ?? 0) : undefined;
  }

  // VTEPs whose pings go unanswered; the others answer at once.
  readonly unreachable = new Set<string>();
  readonly pinged: string[] = [];

  ping(vtep: string, _timeoutMs: number, answered: (yes: boolean) => void): void {
    this.pinged.push(vtep);
    answered(!this.unreachable.has(vtep));
  }

  stats() {
    return { probesSent: 0, repliesReceived: 0, watched: this.watched.size };
  }

  set(vtep: string, answer: Answer): void {
    this.watched.set(vtep, answer);
    this.emit('change', vtep, answer);
  }
}
