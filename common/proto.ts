import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';
import { protoRoot } from './paths';
import type { ProtoGrpcType as AgentProto } from '../generated/agent_service';
import type { ProtoGrpcType as ClusterProto } from '../generated/cluster_service';
import type { ProtoGrpcType as EndpointProto } from '../generated/endpoint_service';
import type { ProtoGrpcType as EnrollmentProto } from '../generated/enrollment_service';
import type { ProtoGrpcType as IpamProto } from '../generated/ipam_service';
import type { ProtoGrpcType as NodeProto } from '../generated/node_service';
import type { ProtoGrpcType as VniProto } from '../generated/vni_service';

export const protoFiles = [
  'vxgossip/v1/types.proto',
  'vxgossip/v1/vni_service.proto',
  'vxgossip/v1/node_service.proto',
  'vxgossip/v1/endpoint_service.proto',
  'vxgossip/v1/cluster_service.proto',
  'vxgossip/v1/agent_service.proto',
  'vxgossip/v1/gossip.proto',
  'vxgossip/v1/enrollment_service.proto',
  'vxgossip/v1/ipam_service.proto',
];

// These options must match the ones scripts/build.js gives proto-loader-gen-types.
export const loaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoRoot],
};

export type VxgossipProto = AgentProto &
  ClusterProto &
  EndpointProto &
  EnrollmentProto &
  IpamProto &
  NodeProto &
  VniProto;

let cached: { definition: protoLoader.PackageDefinition; proto: VxgossipProto } | undefined;

function load() {
  if (!cached) {
    const definition = protoLoader.loadSync(protoFiles, loaderOptions);
    const proto = grpc.loadPackageDefinition(definition) as unknown as VxgossipProto;
    cached = { definition, proto };
  }
  return cached;
}

export function packageDefinition(): protoLoader.PackageDefinition {
  return load().definition;
}

export function v1(): VxgossipProto['vxgossip']['v1'] {
  return load().proto.vxgossip.v1;
}

export function protoPath(file: string): string {
  return path.join(protoRoot, file);
}
