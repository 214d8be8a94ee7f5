import type * as grpc from '@grpc/grpc-js';
import { v1 } from '../../common/proto';
import type { Services } from './ctl-server';
import type { Vni } from '../../generated/vxgossip/v1/Vni';
import type { Node } from '../../generated/vxgossip/v1/Node';
import type { Endpoint } from '../../generated/vxgossip/v1/Endpoint';
import type { FdbEntry } from '../../generated/vxgossip/v1/FdbEntry';

// A small cluster as the server's services describe it, with every kind of value ctl prints: enums,
// 64-bit integers (sent as strings, as protobuf's JSON mapping and proto-loader read them), times in
// milliseconds, and the empty defaults that mean "unset" (mtu 0: auto; no datapath on l2).

const T0 = 1_700_000_000_000;
const MAC1 = '02:00:00:00:00:01';
const MAC2 = '02:00:00:00:00:02';
export const FLOOD = '00:00:00:00:00:00';

export const vnis: Vni[] = [
  {
    id: 42,
    name: 'blue',
    mtu: 0,
    dstport: 4789,
    mode: 'MODE_L2',
    flooding: { headEnd: {} },
    subnet: '10.42.0.0/24',
    revision: '3',
    createTimeMs: String(T0),
    updateTimeMs: String(T0 + 1000),
    datapath: 'DATAPATH_UNSPECIFIED',
  },
  {
    id: 100,
    name: 'routed',
    mtu: 1400,
    dstport: 8472,
    mode: 'MODE_L3',
    flooding: { multicastGroup: '239.1.1.100' },
    subnet: '10.100.0.0/24',
    revision: '5',
    createTimeMs: String(T0),
    updateTimeMs: String(T0),
    datapath: 'DATAPATH_BPF',
  },
];

const programming = [
  {
    vni: 42,
    desired: 2,
    programmed: 1,
    devicesReady: true,
    error: '',
    conflicts: [{ kind: 'route', address: '10.42.0.9/32', found: 'proto static' }],
  },
];

export const nodes: Node[] = [
  {
    name: 'h1',
    vtep: '198.18.0.1',
    state: 'NODE_STATE_ALIVE',
    vnis: [42, 100],
    gossipAddress: '198.18.0.1:7946',
    incarnation: '4',
    agentVersion: '0.1.0',
    connected: true,
    lastSeenMs: String(T0 + 5000),
    programming,
    configRevision: '5',
    stateSinceMs: String(T0),
  },
  {
    name: 'h2',
    vtep: '198.18.0.2',
    state: 'NODE_STATE_AGENT_DOWN',
    vnis: [42],
    gossipAddress: '198.18.0.2:7946',
    incarnation: '1',
    agentVersion: '',
    connected: false,
    lastSeenMs: '0',
    programming: [],
    configRevision: '0',
    stateSinceMs: String(T0 + 2000),
  },
];

export const endpoints: Endpoint[] = [
  {
    vni: 42,
    mac: MAC1,
    ips: ['10.42.0.2/24'],
    node: 'h1',
    vtep: '198.18.0.1',
    mobilitySeq: '2',
    origin: 'ENDPOINT_ORIGIN_API',
    netns: 'ns1',
    interface: '',
    version: { incarnation: '1', counter: '4' },
    frozen: false,
    originTimeMs: String(T0 + 3000),
  },
  {
    vni: 42,
    mac: MAC2,
    ips: [],
    node: 'h2',
    vtep: '198.18.0.2',
    mobilitySeq: '0',
    origin: 'ENDPOINT_ORIGIN_LEARNED',
    netns: '',
    interface: '',
    version: { incarnation: '1', counter: '1' },
    frozen: true,
    originTimeMs: '0',
  },
];

export const fdb: FdbEntry[] = [
  {
    vni: 42,
    mac: MAC1,
    vtep: '198.18.0.1',
    node: 'h1',
    kind: 'FDB_ENTRY_KIND_UNICAST',
    mobilitySeq: '2',
    frozen: false,
    version: { incarnation: '1', counter: '4' },
  },
  {
    vni: 42,
    mac: FLOOD,
    vtep: '198.18.0.2',
    node: 'h2',
    kind: 'FDB_ENTRY_KIND_FLOOD',
    mobilitySeq: '0',
    frozen: false,
    version: { incarnation: '1', counter: '1' },
  },
];

type Callback = grpc.sendUnaryData<unknown>;
const answer =
  (value: unknown) =>
  (_call: unknown, cb: Callback): void =>
    cb(null, value);

// A watch that sends these events, then ends.
const stream = (events: unknown[]) => (call: grpc.ServerWritableStream<unknown, unknown>) => {
  for (const e of events) call.write(e);
  call.end();
};

// Every service ctl's read commands ask, answering from the fixtures above.
export function clusterServices(): Services {
  return [
    [
      v1().VniService.service,
      {
        ListVnis: answer({ vnis, nextPageToken: '', revision: '5' }),
        GetVni: answer({
          vni: vnis[0],
          nodes: [
            { node: 'h1', status: programming[0] },
            { node: 'h2', status: { vni: 42, desired: 0, programmed: 0, devicesReady: false, error: 'no vxlan42' } },
          ],
        }),
        CreateVni: (call: grpc.ServerUnaryCall<{ vni: Vni }, unknown>, cb: Callback) =>
          cb(null, { ...call.request.vni, revision: '6', createTimeMs: String(T0), updateTimeMs: String(T0) }),
        DeleteVni: answer({ revision: '7', detached: 0 }),
      },
    ],
    [
      v1().NodeService.service,
      {
        ListNodes: answer({ nodes }),
        RevokeNode: answer({ configRevision: '9', recordsDeleted: 3 }),
        WatchNodes: stream([{ type: 'EVENT_TYPE_UPDATED', node: nodes[1] }]),
      },
    ],
    [
      v1().EndpointService.service,
      {
        ListEndpoints: answer({ endpoints, nextPageToken: '' }),
        WatchFdb: stream([
          { type: 'EVENT_TYPE_SNAPSHOT', entry: fdb[0], revision: '8' },
          { type: 'EVENT_TYPE_SNAPSHOT_END', revision: '8' },
        ]),
        ListFdb: answer({ entries: fdb, nextPageToken: '' }),
        LookupFdb: answer(fdb[0]),
        ListDuplicates: answer({ duplicates: [{ entry: { ...fdb[0], frozen: true }, claims: endpoints }] }),
        ClearDuplicate: answer({ nodes: ['h1'], errors: { h2: 'its agent is not connected' } }),
        GetHostFdb: answer({
          node: 'h1',
          vnis: [42],
          nextPageToken: '',
          entries: [
            { vni: 42, kind: 'vxlan', mac: MAC2, vtep: '198.18.0.2', ip: '' },
            { vni: 42, kind: 'local', mac: MAC1, vtep: '', ip: '' },
          ],
        }),
      },
    ],
    [
      v1().IpamService.service,
      {
        ListBlocks: answer({
          blocks: [{ vni: 42, cidr: '10.42.0.0/26', node: 'h1', subnet: '10.42.0.0/24', claimTimeMs: String(T0) }],
        }),
      },
    ],
    [
      v1().ClusterService.service,
      {
        GetStatus: answer({ serverVersion: '9.8.7' }),
        ListKeys: answer({
          keys: { 'a2V5LW9uZQ==': 2 },
          primaryKeys: { 'a2V5LW9uZQ==': 1 },
          nodes: 2,
          errors: {},
          unsavedNodes: [],
        }),
        CreateJoinToken: answer({ token: 'abc.def.cafe', expireTimeMs: String(T0 + 3600_000), uses: 1 }),
      },
    ],
  ];
}
