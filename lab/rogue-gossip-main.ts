import { parseFlags } from '../common/cli';
import { createLogger } from '../common/log';
import { RogueGossipMember, RogueGossipSpec } from './rogue-gossip-member';

// A rogue gossip member as a process, for a lab host's namespace:
//   node rogue-gossip-main.js --spec '<RogueGossipSpec as JSON>'
// Joins, delivers the spec's messages, repeats them every resendMs, and logs JSON lines until
// SIGTERM or SIGINT.
async function main(): Promise<void> {
  const { values } = parseFlags({ args: process.argv.slice(2), options: { spec: { type: 'string' } } });
  if (!values.spec) throw new Error('--spec is required');
  const spec = JSON.parse(values.spec) as RogueGossipSpec;
  const log = createLogger({ component: 'rogue-gossip' }).child({ rogue: spec.name });
  const member = await RogueGossipMember.start(spec, log);
  const joined = await member.join();
  log.info('rogue joined', { via: joined, members: member.members() });
  await member.deliverAll();
  const timer = setInterval(() => void member.deliverAll(true), spec.resendMs ?? 1000);
  const stop = async () => {
    clearInterval(timer);
    log.info('rogue stopping', { received: member.receivedKinds() });
    await member.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'rogue failed', error: err.message })}\n`);
  process.exit(1);
});
