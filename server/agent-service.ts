import * as grpc from '@grpc/grpc-js';
import type { AgentServiceHandlers } from '../generated/vxgossip/v1/AgentService';
import type { AgentMessage__Output } from '../generated/vxgossip/v1/AgentMessage';
import type { Logger } from '../common/log';
import { ValidationError, checkIp, checkNodeName, parseHostPort } from '../common/validation';
import { recordFromProto } from '../common/record-proto';
import type { StateRecord } from '../common/fdb-state/record';
import { AgentHub, AgentStream } from './agent-hub';
import type { RecordStore } from './record-store';
import { StorageUnavailableError } from './database';
import { endStream } from './rpc';
import type { StorageHealth } from './storage';
import type { RpcError } from './grpc-errors';
import { AuthError, Authorizer, AuthRefusal } from './trust/authorization';
import { canonicalIp } from '../common/pki';
import type { Hello__Output } from '../generated/vxgossip/v1/Hello';

const HELLO_TIMEOUT_MS = 10_000;
// A version string ("0.2.0", a git describe): kept for as long as the session, shown by ctl.
const MAX_AGENT_VERSION_BYTES = 64;

// Why a Hello cannot open this stream: invalid, or not the node (and VTEP) the certificate names.
// A mismatch never displaces the connected agent of the node it claims to be.
function helloRefusal(
  hello: Hello__Output,
  certified: { name: string; ips: string[] },
): { code: grpc.status; details: string } | undefined {
  try {
    checkNodeName('hello.node', hello.node);
    checkIp('hello.vtep', hello.vtep);
    // Optional (node-agent leaves it empty); kept for the session and shown by ctl like the version.
    if (hello.gossipAddress !== '')
      checkIp('hello.gossip_address', parseHostPort('hello.gossip_address', hello.gossipAddress).host);
    if (Buffer.byteLength(hello.agentVersion) > MAX_AGENT_VERSION_BYTES)
      throw new ValidationError('hello.agent_version', `longer than ${MAX_AGENT_VERSION_BYTES} bytes`);
  } catch (err) {
    return { code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message };
  }
  if (hello.node === certified.name && certified.ips.includes(canonicalIp(hello.vtep))) return undefined;
  return {
    code: grpc.status.PERMISSION_DENIED,
    details: `the certificate is for node ${certified.name} (VTEPs ${certified.ips.join(', ')}), not ${hello.node} at ${hello.vtep}`,
  };
}

// Validated, checked against the agent's identity, made durable, then acknowledged. A batch with a
// record the agent does not own is dropped whole and counted: a compromised or buggy agent cannot
// speak for another host.
async function replicate(
  to: { replicas: RecordStore; hub: AgentHub; log: Logger; stream: AgentStream },
  from: string,
  protos: NonNullable<Parameters<typeof recordFromProto>[0]>[],
): Promise<void> {
  let records: StateRecord[];
  try {
    records = protos.map(recordFromProto);
  } catch (err) {
    to.log.warn('agent sent an invalid record; batch dropped', { node: from, error: (err as Error).message });
    return;
  }
  try {
    const version = await to.replicas.merge(from, to.hub.sessionOf(from)?.vtep ?? '', records);
    to.stream.write({ recordsAck: { version } });
  } catch (err) {
    to.log.warn('agent records refused', { node: from, error: (err as Error).message });
    // The agent re-sends what is unacknowledged when it reconnects, by when the database is back.
    if (err instanceof StorageUnavailableError) endStream(to.stream, err.code, err.message);
  }
}

export function agentService(
  hub: AgentHub,
  replicas: RecordStore,
  auth: { authorizer: Authorizer; refused: (reason: AuthRefusal, message: string) => void },
  log: Logger,
  storage: Pick<StorageHealth, 'health'>,
): AgentServiceHandlers {
  return {
    Connect(stream: AgentStream) {
      let node: string | undefined;
      // A replica cut off from etcd (or a level store being reopened) takes no agent: it could
      // acknowledge nothing the agent sends, and with replicas the agent goes on to another.
      const { serving, reason } = storage.health();
      if (!serving) {
        endStream(stream, grpc.status.UNAVAILABLE, `this server cannot store records now: ${reason}`);
        return;
      }
      // The interceptor let only a node certificate through; its name is who this is.
      let certified: { name: string; ips: string[] };
      try {
        certified = auth.authorizer.requireNode(stream);
      } catch (err) {
        const e = err as AuthError;
        endStream(stream, e.code ?? grpc.status.UNAUTHENTICATED, e.message);
        return;
      }
      const helloTimer = setTimeout(() => {
        endStream(stream, grpc.status.DEADLINE_EXCEEDED, `no Hello within ${HELLO_TIMEOUT_MS} ms`);
      }, HELLO_TIMEOUT_MS);

      const reject = (details: string, code = grpc.status.INVALID_ARGUMENT) => {
        clearTimeout(helloTimer);
        log.warn('agent stream rejected', { details, node, certified: certified.name });
        endStream(stream, code, details);
      };

      stream.on('data', (msg: AgentMessage__Output) => {
        if (node === undefined) {
          if (msg.msg !== 'hello' || !msg.hello) return reject('the first message on an agent stream must be Hello');
          const refusal = helloRefusal(msg.hello, certified);
          if (refusal) {
            if (refusal.code === grpc.status.PERMISSION_DENIED) auth.refused('name-mismatch', refusal.details);
            return reject(refusal.details, refusal.code);
          }
          clearTimeout(helloTimer);
          node = msg.hello.node;
          hub.attach(msg.hello, stream);
          return;
        }
        switch (msg.msg) {
          case 'status':
            hub.recordStatus(node, msg.status?.vnis ?? [], Number(msg.status?.configRevision ?? 0));
            break;
          case 'records':
            void replicate({ replicas, hub, log, stream }, node, msg.records?.records ?? []);
            break;
          case 'membership':
            try {
              hub.recordMembership(node, msg.membership?.members ?? []);
            } catch (err) {
              return reject((err as Error).message, (err as RpcError).code ?? grpc.status.INVALID_ARGUMENT);
            }
            break;
          case 'commandResult':
            if (msg.commandResult) hub.commandResult(node, msg.commandResult);
            break;
          case 'hello':
            reject('Hello may be sent only once per stream');
            break;
          default:
            log.debug('agent message ignored', { node, kind: msg.msg });
        }
      });
      const finish = () => {
        clearTimeout(helloTimer);
        if (node !== undefined) hub.detach(node, stream);
      };
      stream.on('end', () => {
        finish();
        stream.end();
      });
      stream.on('error', finish);
      stream.on('cancelled', finish);
    },
  };
}
