import { spawnSync } from 'node:child_process';

// What the tests need promtool for, and where it comes from.
export const PROMTOOL = { promtool: 'prometheus' };

// Runs promtool with the given input; its status and everything it printed.
export function promtool(args: string[], input?: string, cwd?: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool ${args.join(' ')} did not run: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

// Every metric a scrape declares (its # TYPE lines), with the series names a histogram adds.
export function metricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}
