import { queueDelete, unqueueDelete } from '../common/cni/delete-queue';
import { Attachment, AttachmentKey, CNI_CODES, CniError, GcAnswer, PATHS, StatusAnswer } from '../common/cni/protocol';
import { AgentApi, AgentUnreachable } from './agent-client';
import type { CniEnvironment } from './environment';
import { LATEST_VERSION, NetConfig, SUPPORTED_VERSIONS, parseNetConfig, versionOf } from './net-config';
import { addResult, ourPrevious } from './result';

export interface PluginDeps {
  agent: (socket: string) => AgentApi;
  // Where a DEL goes when the agent is down (the default: common/cni/delete-queue).
  queue?: { add: typeof queueDelete; remove: typeof unqueueDelete };
}

export interface PluginOutput {
  // What goes to stdout (nothing for a successful DEL, CHECK, GC or STATUS).
  stdout: string;
  exitCode: number;
}

const down = (err: AgentUnreachable, what: string, socket: string) =>
  new CniError(
    CNI_CODES.tryAgainLater,
    `${err.message}: cannot ${what}; start the agent (node-agent … --cni-socket ${socket}) and try again`,
  );

// One invocation of the plugin, as a runtime makes it: the command and the container from the
// environment, the network configuration from stdin; the result, or the error with its CNI code.
export async function runPlugin(env: () => CniEnvironment, stdin: string, deps: PluginDeps): Promise<PluginOutput> {
  let version = LATEST_VERSION;
  try {
    const environment = env();
    if (environment.command === 'VERSION') {
      const asked = versionOf(JSON.parse(stdin || '{}'));
      version = asked && SUPPORTED_VERSIONS.includes(asked) ? asked : LATEST_VERSION;
      return ok({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS });
    }
    const config = parseNetConfig(stdin);
    version = config.cniVersion;
    const answer = await run(environment, config, deps);
    return ok(answer);
  } catch (err) {
    const error = err instanceof CniError ? err : new CniError(CNI_CODES.agentFailed, (err as Error).message);
    return { stdout: JSON.stringify({ cniVersion: version, ...error.body() }) + '\n', exitCode: 1 };
  }
}

const ok = (answer: unknown): PluginOutput => ({
  stdout: answer === undefined ? '' : JSON.stringify(answer) + '\n',
  exitCode: 0,
});

async function run(env: CniEnvironment, config: NetConfig, deps: PluginDeps): Promise<unknown> {
  const agent = deps.agent(config.agentSocket);
  const socket = config.agentSocket;
  const { vni } = config;
  const key = (): AttachmentKey => ({ vni, containerId: env.containerId!, ifname: env.ifname! });
  const reachable = async <T>(what: string, call: () => Promise<T>): Promise<T> =>
    call().catch((err: Error) => {
      throw err instanceof AgentUnreachable ? down(err, what, socket) : err;
    });
  switch (env.command) {
    case 'ADD': {
      const a = await reachable('attach the container', () =>
        agent.call<Attachment>(PATHS.add, { ...key(), netns: env.netns }),
      );
      return addResult(config, a);
    }
    case 'DEL':
      return del(key(), config, agent, deps);
    case 'CHECK': {
      const previous = ourPrevious(config, env.ifname!, env.netns!);
      await reachable('check the container', () =>
        agent.call(PATHS.check, { ...key(), netns: env.netns, ...previous }),
      );
      return undefined;
    }
    case 'GC':
      await needs11(config, 'GC');
      await reachable('collect garbage', () =>
        agent.call<GcAnswer>(PATHS.gc, { vni, valid: config.validAttachments ?? [] }),
      );
      return undefined;
    case 'STATUS':
      await needs11(config, 'STATUS');
      return status(agent, socket);
    default:
      throw new CniError(CNI_CODES.invalidEnvironment, `CNI_COMMAND ${env.command as string} is not handled here`);
  }
}

async function needs11(config: NetConfig, command: string): Promise<void> {
  if (config.cniVersion === '1.0.0')
    throw new CniError(
      CNI_CODES.incompatibleVersion,
      `${command} needs cniVersion 1.1.0 (the configuration says 1.0.0)`,
    );
}

async function status(agent: AgentApi, socket: string): Promise<undefined> {
  let answer: StatusAnswer;
  try {
    answer = await agent.call<StatusAnswer>(PATHS.status, {});
  } catch (err) {
    if (err instanceof AgentUnreachable)
      throw new CniError(CNI_CODES.notAvailable, `${err.message}: start it (node-agent … --cni-socket ${socket})`);
    throw new CniError(CNI_CODES.notAvailable, (err as Error).message);
  }
  if (!answer.ready)
    throw new CniError(CNI_CODES.notAvailable, `the vxgossip agent is not ready: ${answer.reasons.join('; ')}`);
  return undefined;
}

// With the agent down, the deletion is queued for the agent to replay when it starts, and DEL
// succeeds: a runtime must be able to remove a container whatever state the network is in. One more
// try after queueing narrows the window of an agent that was starting meanwhile.
async function del(key: AttachmentKey, config: NetConfig, agent: AgentApi, deps: PluginDeps): Promise<undefined> {
  const queue = deps.queue ?? { add: queueDelete, remove: unqueueDelete };
  try {
    await agent.call(PATHS.del, key);
    return undefined;
  } catch (err) {
    if (!(err instanceof AgentUnreachable)) throw err;
  }
  try {
    queue.add(config.deleteQueue, key);
  } catch (err) {
    throw new CniError(
      CNI_CODES.ioFailure,
      `the agent is down and the deletion cannot be queued: ${(err as Error).message}`,
    );
  }
  try {
    await agent.call(PATHS.del, key);
    queue.remove(config.deleteQueue, key);
  } catch {
    // Still down: the queued deletion stands.
  }
  return undefined;
}
