import * as grpc from '@grpc/grpc-js';
import type { ClusterServiceHandlers } from '../generated/vxgossip/v1/ClusterService';
import type { Command } from '../generated/vxgossip/v1/Command';
import type { KeyringResponse } from '../generated/vxgossip/v1/KeyringResponse';
import type { Logger } from '../common/log';
import { RpcError } from './grpc-errors';
import type { AgentHub } from './agent-hub';
import type { VniConfigStore } from './vni-config-store';
import { unary } from './rpc';
import type { JoinTokens } from './trust/join-tokens';
import { formatJoinToken } from '../common/trust/join-token';
import type { ServerKeyring } from './trust/server-keyring';
import type { NodeRegistry } from './trust/node-registry';
import type { RecordStore } from './record-store';
import { knownNodes } from './known-nodes';
import { VERSION } from '../common/version';

function checkKey(key: string): void {
  const bytes = Buffer.from(key, 'base64');
  if (![16, 24, 32].includes(bytes.length) || bytes.toString('base64') !== key) {
    throw new RpcError(
      grpc.status.INVALID_ARGUMENT,
      `key: must be the base64 of 16, 24 or 32 bytes (as serf keygen makes), got ${bytes.length} bytes`,
    );
  }
}

type Trust = {
  tokens: JoinTokens;
  keyring: ServerKeyring;
  registry: NodeRegistry;
  replicas: RecordStore;
  caFingerprint: string;
  enrolment: boolean;
};

// Every node this server knows (enrolled, or connected since it started) that is not connected now:
// a keyring change does not reach it, and using a key it lacks would cut it off.
function unreachedNodes(hub: AgentHub, trust: Trust): string[] {
  return knownNodes(hub, trust.registry, trust.replicas)
    .filter((n) => !n.connected)
    .map((n) => n.name!);
}

async function createJoinToken(trust: Trust, log: Logger, req: { ttlSeconds: number; uses: number; node: string }) {
  if (!trust.enrolment)
    throw new RpcError(
      grpc.status.FAILED_PRECONDITION,
      'the server serves a certificate from your own CA (--tls-cert), which a join token cannot pin: give hosts certificates from that CA instead (node-agent --tls-ca/--tls-cert/--tls-key)',
    );
  const t = await trust.tokens.create({ ttlSeconds: req.ttlSeconds, uses: req.uses, node: req.node });
  log.info('join token created', {
    id: t.id,
    uses: t.uses,
    node: req.node || undefined,
    expires: new Date(t.expireTimeMs).toISOString(),
  });
  return {
    token: formatJoinToken({ id: t.id, secret: t.secret, caSha256: trust.caFingerprint }),
    expireTimeMs: t.expireTimeMs,
    uses: t.uses,
  };
}

// Cluster health, and the gossip keyring fanned out to every connected agent (serf's keys command):
// the answer counts, per key, the nodes holding it and using it as primary, and names failures.
export function clusterService(
  hub: AgentHub,
  store: VniConfigStore,
  log: Logger,
  trust: Trust,
): ClusterServiceHandlers {
  // The server's own copy follows what the agents did, so hosts enrolled later get the same keys.
  const fanOut = async (command: Omit<Command, 'id'>): Promise<KeyringResponse> => {
    const out = await fanOutToAgents(command);
    const [kind, request] = Object.entries(command)[0] as [string, { key?: string }];
    const change = { installKey: 'install', useKey: 'use', removeKey: 'remove' } as const;
    const applied = change[kind as keyof typeof change];
    if (applied && request.key) {
      try {
        await trust.keyring.apply(applied, request.key);
      } catch (err) {
        out.errors['(server)'] = (err as Error).message;
      }
    }
    return out;
  };
  const fanOutToAgents = async (
    command: Omit<Command, 'id'>,
  ): Promise<KeyringResponse & { errors: Record<string, string> }> => {
    const out = {
      keys: {} as Record<string, number>,
      primaryKeys: {} as Record<string, number>,
      nodes: 0,
      errors: {} as Record<string, string>,
      unsavedNodes: [] as string[],
    };
    for (const { node, result, error } of await hub.commandEveryAgent(command)) {
      if (!result) {
        out.errors[node] = error!;
        continue;
      }
      out.nodes++;
      for (const k of Object.keys(result.keyring?.keys ?? {})) out.keys[k] = (out.keys[k] ?? 0) + 1;
      for (const k of Object.keys(result.keyring?.primaryKeys ?? {}))
        out.primaryKeys[k] = (out.primaryKeys[k] ?? 0) + 1;
      out.unsavedNodes.push(...(result.keyring?.unsavedNodes ?? []).filter((n) => n === node));
    }
    for (const node of unreachedNodes(hub, trust))
      out.errors[node] =
        'not connected to this server, so it did not get this: run the command again once it has reconnected (ctl node list), or revoke it if it is gone for good (ctl node revoke)';
    log.info('gossip keyring operation', {
      command: Object.keys(command)[0],
      nodes: out.nodes,
      failed: Object.keys(out.errors).length,
      unsaved: out.unsavedNodes.length,
    });
    return out;
  };
  return {
    GetStatus: unary(log, 'GetStatus', [], () => {
      const nodes = knownNodes(hub, trust.registry, trust.replicas);
      const count = (state: string) => nodes.filter((n) => n.state === state).length;
      return {
        alive: count('NODE_STATE_ALIVE'),
        suspect: count('NODE_STATE_SUSPECT'),
        dead: count('NODE_STATE_DEAD'),
        left: count('NODE_STATE_LEFT'),
        agentDown: count('NODE_STATE_AGENT_DOWN'),
        configRevision: store.currentRevision(),
        nodes,
        serverVersion: VERSION,
      };
    }),
    ListKeys: unary(log, 'ListKeys', [], () => fanOut({ listKeys: {} })),
    InstallKey: unary(log, 'InstallKey', [], (req) => {
      checkKey(req.key);
      return fanOut({ installKey: req });
    }),
    UseKey: unary(log, 'UseKey', [], (req) => {
      checkKey(req.key);
      return fanOut({ useKey: req });
    }),
    RemoveKey: unary(log, 'RemoveKey', [], (req) => {
      checkKey(req.key);
      return fanOut({ removeKey: req });
    }),
    CreateJoinToken: unary(log, 'CreateJoinToken', [], (req) => createJoinToken(trust, log, req)),
  };
}
