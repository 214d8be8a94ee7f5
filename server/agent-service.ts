import * as grpc from '@grpc/grpc-js';
import type { AgentServiceHandlers } from '../generated/vxgossip/v1/AgentService';
import type { Logger } from '../common/log';
import { checkIp, checkNodeName } from '../common/validation';
import { AgentHub, AgentStream } from './agent-hub';

const HELLO_TIMEOUT_MS = 10_000;

export function agentService(hub: AgentHub, log: Logger): AgentServiceHandlers {
  return {
    Connect(stream: AgentStream) {
      let node: string | undefined;
      const helloTimer = setTimeout(() => {
        stream.destroy({ code: grpc.status.DEADLINE_EXCEEDED, details: `no Hello within ${HELLO_TIMEOUT_MS} ms` } as grpc.ServiceError);
      }, HELLO_TIMEOUT_MS);

      const reject = (details: string) => {
        clearTimeout(helloTimer);
        log.warn('agent stream rejected', { details, node });
        stream.destroy({ code: grpc.status.INVALID_ARGUMENT, details } as grpc.ServiceError);
      };

      stream.on('data', (msg) => {
        if (node === undefined) {
          if (msg.msg !== 'hello' || !msg.hello) return reject('the first message on an agent stream must be Hello');
          try {
            checkNodeName('hello.node', msg.hello.node);
            checkIp('hello.vtep', msg.hello.vtep);
          } catch (err) {
            return reject((err as Error).message);
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
          case 'hello':
            reject('Hello may be sent only once per stream');
            break;
          default:
            // Records, membership and command results are consumed by the replication layer (not yet built).
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
