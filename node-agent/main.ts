import { UsageError, parseFlags } from '../common/cli';
import { serverAddress } from '../common/grpc-client';
import { createLogger, parseLevel } from '../common/log';
import { checkIp, checkNodeName, parseHostPort } from '../common/validation';
import { Agent } from './agent';
import { AgentState } from './agent-state';
import { KernelLinkDriver } from './kernel-link-driver';

const USAGE = `Usage: node-agent --name NAME --vtep IP --data-dir DIR [--server HOST:PORT] [--log-level LEVEL]

The vxgossip host agent: realises every VNI as vxlan<VNI> (a port of br<VNI>) over rtnetlink and
keeps it right. Needs CAP_NET_ADMIN.

  --name       this node's name, unique in the cluster (letters, digits, '.', '_', '-')
  --vtep       this host's underlay address; VXLAN packets leave from it
  --data-dir   where the agent keeps its identity and the last VNI configuration
  --server     the vxgossip server (default: $VXGOSSIP_SERVER, else 127.0.0.1:50051)
  --log-level  debug, info (default), warn or error; logs are JSON lines on stderr`;

async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags({
    args: argv,
    options: {
      name: { type: 'string' },
      vtep: { type: 'string' },
      server: { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  for (const flag of ['name', 'vtep', 'data-dir'] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required`);
  }
  const name = checkNodeName('--name', values.name!);
  const vtep = checkIp('--vtep', values.vtep!);
  const server = serverAddress(values.server);
  parseHostPort('--server', server);
  const log = createLogger({ component: 'node-agent', level: parseLevel(values['log-level']) }).child({ node: name });

  const state = AgentState.open(values['data-dir']!, name);
  const driver = await KernelLinkDriver.open();
  const agent = new Agent({ name, vtep, server, state, driver, log });
  agent.start();

  // Devices stay in place on exit: a restarted agent picks them up without a dropped packet.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping; devices stay in place', { signal });
    await agent.stop();
    driver.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: Error) => {
  const usage = err instanceof UsageError || err.name === 'ValidationError';
  process.stderr.write(`node-agent: ${err.message}\n${usage ? USAGE + '\n' : ''}`);
  process.exit(usage ? 2 : 1);
});
