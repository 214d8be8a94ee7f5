import { loadAddon } from '../native/load-addon';

export interface NativeObject {
  readonly __brand: 'bpf-object';
}

export interface NativeMapInfo {
  name: string;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  // A pin of that name did not fit this build's definition and was replaced by a new, empty map.
  replaced: boolean;
}

export interface NativeProgramInfo {
  name: string;
  id: number;
  tag: string;
  // The pinned program was the same (tag and maps) and was kept.
  reused: boolean;
}

export interface NativeTcResult {
  ifindex: number;
  programId: number;
}

// The N-API addon in native/ (linked against libbpf), compiled by node-gyp during `npm ci`. Maps and
// programs are named by their index in load()'s arrays; interfaces by ifindex or by name (resolved
// inside netns, a path such as /run/netns/NAME, when one is given).
export interface NativeBpf {
  load(
    objectPath: string,
    pinDir: string,
  ): { handle: NativeObject; maps: NativeMapInfo[]; programs: NativeProgramInfo[] };
  close(handle: NativeObject): void;
  mountBpffs(dir: string): void;
  tcAttach(
    iface: string | number,
    netns: string | null,
    tcHandle: number,
    priority: number,
    handle: NativeObject,
    program: number,
  ): NativeTcResult & { outcome: 'attached' | 'replaced' | 'unchanged' };
  tcQuery(
    iface: string | number,
    netns: string | null,
    tcHandle: number,
    priority: number,
  ): NativeTcResult & { tag: string };
  tcDetach(
    iface: string | number,
    netns: string | null,
    tcHandle: number,
    priority: number,
  ): NativeTcResult & { detached: boolean };
  mapUpdate(handle: NativeObject, map: number, key: Buffer, value: Buffer): void;
  mapDelete(handle: NativeObject, map: number, key: Buffer): boolean;
  mapDump(handle: NativeObject, map: number): { count: number; keys: Buffer; values: Buffer };
}

let loaded: NativeBpf | undefined;

export function nativeBpf(): NativeBpf {
  loaded ??= loadAddon<NativeBpf>('bpf_datapath');
  return loaded;
}
