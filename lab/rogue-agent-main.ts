import { parseFlags } from '../common/cli';
import { createLogger } from '../common/log';
import { RogueAgentClient, RogueAgentMainSpec, attemptOperatorRpc } from './rogue-agent-client';

// The rogue gRPC client as a process, for a lab host's namespace:
//   node rogue-agent-main.js --spec '<RogueAgentMainSpec as JSON>'
// 'agent' holds an agent stream open (logging what it is sent) until the server ends it (then
// reconnects if told to) or SIGTERM;
// 'operator' makes one call, logs 'rogue operator call' with its outcome and exits.
async function main(): Promise<void> {
  const { values } = parseFlags({ args: process.argv.slice(2), options: { spec: { type: 'string' } } });
  if (!values.spec) throw new Error('--spec is required');
  const spec = JSON.parse(values.spec) as RogueAgentMainSpec;
  const log = createLogger({ component: 'rogue-agent' });
  if (spec.mode === 'operator') {
    const refused = await attemptOperatorRpc(spec.server, spec.credentials, spec.call);
    log.info('rogue operator call', { call: spec.call, done: refused === null, refused });
    return;
  }
  let client: RogueAgentClient | undefined;
  process.on('SIGTERM', () => {
    client?.close();
    process.exit(0);
  });
  for (;;) {
    client = new RogueAgentClient(spec, log);
    const end = await client.ended;
    log.info('rogue agent stream ended', { ...end, wasAccepted: client.connected, keys: client.keys });
    client.close();
    if (spec.reconnectMs === undefined) return;
    await new Promise((r) => setTimeout(r, spec.reconnectMs));
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'rogue failed', error: err.message })}\n`);
  process.exit(1);
});
