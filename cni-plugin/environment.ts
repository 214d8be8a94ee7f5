import { CNI_CODES, CniError, checkContainerId, checkNetnsPath } from '../common/cni/protocol';
import { checkInterfaceName } from '../common/validation';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

// What the runtime passes in the environment (SPEC.md, "Parameters"), checked for the command.
export interface CniEnvironment {
  command: CniCommand;
  containerId?: string;
  netns?: string;
  ifname?: string;
}

// The variables each command cannot do without. CNI_PATH is required by the spec for the runtime to
// set, but this plugin runs no other plugin, so it is not looked at.
const NEEDS: Record<CniCommand, Array<'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME'>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

export function parseEnvironment(env: NodeJS.ProcessEnv): CniEnvironment {
  const command = env.CNI_COMMAND;
  if (!COMMANDS.includes(command as CniCommand))
    throw new CniError(
      CNI_CODES.invalidEnvironment,
      `CNI_COMMAND: ${JSON.stringify((command ?? '').slice(0, 32))} is not one of ${COMMANDS.join(', ')}`,
    );
  const cmd = command as CniCommand;
  for (const name of NEEDS[cmd])
    if (!env[name]) throw new CniError(CNI_CODES.invalidEnvironment, `${name} is required for ${cmd}`);
  const out: CniEnvironment = { command: cmd };
  // libcni validates a configuration by running VERSION with placeholders ("dummy") in the rest.
  if (cmd === 'VERSION') return out;
  if (env.CNI_CONTAINERID) out.containerId = checkContainerId(env.CNI_CONTAINERID);
  if (env.CNI_NETNS) out.netns = checkNetnsPath(env.CNI_NETNS);
  if (env.CNI_IFNAME) {
    try {
      out.ifname = checkInterfaceName('CNI_IFNAME', env.CNI_IFNAME);
    } catch (err) {
      throw new CniError(CNI_CODES.invalidEnvironment, (err as Error).message);
    }
  }
  return out;
}
