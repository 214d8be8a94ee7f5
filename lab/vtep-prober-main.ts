import { parseFlags } from '../common/cli';
import { createLogger } from '../common/log';
import { VtepProber, VtepProberOptions } from '../node-agent/liveness/vtep-prober';

// A VTEP prober as a process, for a lab host's namespace (it probes from the namespace it runs in):
//   node vtep-prober-main.js --options '<VtepProberOptions as JSON, without log>' [VTEP...]
// Watches the VTEPs given and logs JSON lines: 'vtep change' at each change and 'prober stats' every
// second, until SIGTERM or SIGINT.
async function main(): Promise<void> {
  const { values, positionals } = parseFlags({
    args: process.argv.slice(2),
    options: { options: { type: 'string' } },
    allowPositionals: true,
  });
  const log = createLogger({ component: 'vtep-prober' });
  const options = JSON.parse(values.options ?? '{}') as Omit<VtepProberOptions, 'log'>;
  const prober = await VtepProber.open({ ...options, log });
  prober.on('change', (vtep, answer) => log.info('vtep change', { vtep, answer }));
  for (const vtep of positionals) prober.watch(vtep);
  log.info('prober started', { watching: positionals });
  // The prober keeps no process alive on its own; this timer does.
  const timer = setInterval(() => log.info('prober stats', prober.stats()), 1000);
  const stop = () => {
    clearInterval(timer);
    prober.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'vtep prober failed', error: err.message })}\n`);
  process.exit(1);
});
