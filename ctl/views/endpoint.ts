import type { Endpoint__Output } from '../../generated/vxgossip/v1/Endpoint';
import type { Resource } from './resource';
import { VersionView, cell, int64, orNull, time, versionCell, versionView, yesNo } from './values';

// An endpoint (a MAC behind a VTEP) as ctl prints it. origin: learned (seen in a kernel) or api
// (attached); netns and interface only for attached ones, which is what `ctl endpoint detach` takes.
export interface EndpointView {
  vni: number;
  mac: string;
  ips: string[];
  node: string;
  vtep: string;
  origin: 'learned' | 'api';
  netns: string | null;
  interface: string | null;
  mobilitySeq: number;
  frozen: boolean;
  version: VersionView | null;
  originTime: string | null;
}

export function endpointView(e: Endpoint__Output): EndpointView {
  return {
    vni: e.vni,
    mac: e.mac,
    ips: e.ips,
    node: e.node,
    vtep: e.vtep,
    origin: e.origin === 'ENDPOINT_ORIGIN_API' ? 'api' : 'learned',
    netns: orNull(e.netns),
    // The agent creates the interface as eth0 when the attach named none.
    interface: e.netns ? e.interface || 'eth0' : null,
    mobilitySeq: int64('mobilitySeq', e.mobilitySeq),
    frozen: e.frozen,
    version: versionView(e.version),
    originTime: time('originTimeMs', e.originTimeMs),
  };
}

export const endpointResource: Resource<EndpointView> = {
  kind: 'endpoint',
  name: (e) => `${e.vni}/${e.mac}`,
  columns: [
    { header: 'VNI', cell: (e) => e.vni },
    { header: 'MAC', cell: (e) => e.mac },
    { header: 'IPS', cell: (e) => e.ips.join(',') || '-' },
    { header: 'NODE', cell: (e) => e.node },
    { header: 'VTEP', cell: (e) => e.vtep },
    { header: 'NETNS', cell: (e) => cell(e.netns) },
    { header: 'INTERFACE', cell: (e) => cell(e.interface) },
    { header: 'ORIGIN', cell: (e) => e.origin },
    { header: 'SEQ', cell: (e) => e.mobilitySeq },
    { header: 'FROZEN', cell: (e) => yesNo(e.frozen), wide: true },
    { header: 'VERSION', cell: (e) => versionCell(e.version), wide: true },
    { header: 'ORIGIN TIME', cell: (e) => cell(e.originTime), wide: true },
  ],
};
