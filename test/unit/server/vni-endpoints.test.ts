import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { EndpointIndex } from '../../../server/endpoint-index';
import { RpcError } from '../../../server/grpc-errors';
import { attachedIn, detachAll, refuseAttached } from '../../../server/vni-endpoints';
import type { ReplicaStore } from '../../../server/replica-store';
import type { AgentHub } from '../../../server/agent-hub';
import type { EndpointBody, StateRecord } from '../../../common/fdb-state/record';
import type { Command } from '../../../generated/vxgossip/v1/Command';

function endpoint(owner: string, vni: number, mac: string, extra: Partial<EndpointBody>): StateRecord {
  return {
    owner,
    version: { incarnation: 1, counter: 1 },
    tombstone: false,
    originTimeMs: 0,
    body: { kind: 'endpoint', vni, mac, ips: [], vtep: '198.18.0.1', mobilitySeq: 0, origin: 'api', ...extra },
  };
}

const index = (records: StateRecord[]) =>
  new EndpointIndex({ all: () => records, on: () => undefined } as unknown as ReplicaStore);

// An agent hub whose agents answer detach as `answer` says, recording what they were asked.
function hub(answer: (node: string) => string | Error = () => '') {
  const asked: Array<{ node: string; command: Omit<Command, 'id'> }> = [];
  const fake = {
    sendCommand: async (node: string, command: Omit<Command, 'id'>) => {
      asked.push({ node, command });
      const a = answer(node);
      if (a instanceof Error) throw a;
      return { id: '1', error: a, code: a ? grpc.status.NOT_FOUND : 0 };
    },
  };
  return { hub: fake as unknown as AgentHub, asked };
}

describe('a VNI delete and its attached endpoints', () => {
  const records = [
    endpoint('h1', 42, '02:00:00:00:00:01', { netns: 'ns-a', interface: 'eth0' }),
    endpoint('h2', 42, '02:00:00:00:00:02', { netns: '/var/run/netns/cni-1', interface: 'eth1' }),
    endpoint('h2', 42, '02:00:00:00:00:03', { origin: 'learned' }),
    endpoint('h1', 43, '02:00:00:00:00:04', { netns: 'ns-b', interface: 'eth0' }),
  ];

  it("finds only the VNI's endpoints attached through the API, with where they are", () => {
    assert.deepEqual(attachedIn(index(records), 42), [
      { node: 'h1', vni: 42, mac: '02:00:00:00:00:01', netns: 'ns-a', interface: 'eth0' },
      { node: 'h2', vni: 42, mac: '02:00:00:00:00:02', netns: '/var/run/netns/cni-1', interface: 'eth1' },
    ]);
    assert.deepEqual(attachedIn(index(records), 44), []);
  });

  it('refuses a delete while endpoints are attached, naming them and --cascade', () => {
    refuseAttached(44, []);
    assert.throws(
      () => refuseAttached(42, attachedIn(index(records), 42)),
      (e: unknown) =>
        e instanceof RpcError &&
        e.code === grpc.status.FAILED_PRECONDITION &&
        e.message ===
          'VNI 42 has 2 attached endpoint(s): h1 ns-a/eth0, h2 /var/run/netns/cni-1/eth1; detach them (ctl endpoint detach) or delete with --cascade, which detaches them first',
    );
  });

  it('detaches every attached endpoint through its own agent', async () => {
    const { hub: h, asked } = hub();
    await detachAll(h, 42, attachedIn(index(records), 42));
    assert.deepEqual(asked, [
      { node: 'h1', command: { detach: { node: 'h1', vni: 42, netns: 'ns-a', interface: 'eth0' } } },
      { node: 'h2', command: { detach: { node: 'h2', vni: 42, netns: '/var/run/netns/cni-1', interface: 'eth1' } } },
    ]);
  });

  it('keeps the VNI when an endpoint cannot be detached, naming each one and why', async () => {
    const { hub: h } = hub((node) => (node === 'h2' ? new Error('agent h2 is not connected to this server now') : ''));
    const unknownWhere = endpoint('h3', 42, '02:00:00:00:00:05', {});
    await assert.rejects(
      detachAll(h, 42, attachedIn(index([...records, unknownWhere]), 42)),
      (e: unknown) =>
        e instanceof RpcError &&
        e.code === grpc.status.FAILED_PRECONDITION &&
        /^VNI 42 is kept: 2 of 3 attached endpoint\(s\) could not be detached: h2 \/var\/run\/netns\/cni-1\/eth1: agent h2 is not connected to this server now, h3 \(namespace unknown\)\/eth0: its agent does not report where it is attached/.test(
          e.message,
        ),
    );
  });
});
