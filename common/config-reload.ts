import type { Fields, Logger } from './log';

export interface Change {
  key: string;
  from: unknown;
  to: unknown;
}

// What a reload changes: what the daemon applies at once, and the keys that wait for a restart.
export interface ReloadPlan {
  live: Change[];
  restart: string[];
}

export function planReload(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  liveKeys: readonly string[],
): ReloadPlan {
  const plan: ReloadPlan = { live: [], restart: [] };
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[key] === after[key]) continue;
    if (liveKeys.includes(key)) plan.live.push({ key, from: before[key], to: after[key] });
    else plan.restart.push(key);
  }
  return plan;
}

export interface ReloadOptions<V extends Record<string, unknown>> {
  // The configuration running now.
  current: V;
  // Reads the configuration again (file and environment); throws what is wrong with it.
  load(): V;
  // The keys the daemon can change without a restart.
  live: readonly string[];
  // Checks the new configuration's live part (throws what is wrong, changing nothing), and returns
  // the step that applies it; that step returns what the log should say beyond the changed keys.
  prepare(next: V, plan: ReloadPlan): () => Fields;
  log: Logger;
  signals?: NodeJS.EventEmitter;
}

// SIGHUP, as daemons have it: read the configuration again and apply what can change live, all or
// nothing; a bad file is logged and the running configuration kept. The signal never stops the
// daemon (Node's default for SIGHUP is to exit).
export function reloadOnSignal<V extends Record<string, unknown>>(options: ReloadOptions<V>): void {
  const { live, log, signals = process } = options;
  let current = options.current;
  signals.on('SIGHUP', () => {
    try {
      const next = options.load();
      const plan = planReload(current, next, live);
      const extra = options.prepare(next, plan)();
      // What waits for a restart is not running: the next reload names it again.
      current = { ...next, ...Object.fromEntries(plan.restart.map((k) => [k, current[k]])) };
      const changed = Object.fromEntries(plan.live.map((c) => [c.key, { from: c.from ?? null, to: c.to ?? null }]));
      log.info('configuration reloaded', { changed, ...extra });
      if (plan.restart.length > 0)
        log.warn('configuration changes that take effect only after a restart', { keys: plan.restart });
    } catch (err) {
      log.error('configuration reload failed: the running configuration is kept', { error: (err as Error).message });
    }
  });
}

// Until a daemon can reload, a SIGHUP must not end it (Node's default): it is logged and ignored.
// Returns the release, to call once the daemon handles the signal itself.
export function holdSignalDuringStart(signal: NodeJS.Signals, log: Logger): () => void {
  const hold = () => log.warn(`${signal} while starting: ignored; send it again once started`);
  process.on(signal, hold);
  return () => process.off(signal, hold);
}
