import * as fs from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { BpfMap, MapBackend } from './bpf-map';
import { BPFFS_ROOT, DEFAULT_PIN_DIR, preparePinDir } from './bpffs';
import { BpfError, bpfError } from './errors';
import {
  EndpointKey,
  LocalEndpoint,
  MapCodec,
  RemoteEndpoint,
  WorkloadInterface,
  localEndpointCodec,
  remoteEndpointCodec,
  workloadInterfaceCodec,
} from './map-codec';
import { NativeMapInfo, NativeObject, NativeProgramInfo, nativeBpf } from './native';
import { AttachResult, InterfaceRef, attachProgram } from './tc-attachment';

const { errno } = constants;

// Built from program/datapath.bpf.c by scripts/build-bpf.js (part of `npm run build`).
export const DATAPATH_OBJECT = path.join(repoRoot, 'dist', 'node-agent', 'bpf', 'program', 'datapath.bpf.o');

export interface DatapathOptions {
  objectFile?: string;
  // The BPF filesystem (mounted there if it is not) and the directory of our pins inside it.
  bpffs?: string;
  pinDir?: string;
}

// workload: ingress of an endpoint's host-side veth; tunnel: ingress of the external vxlan device.
export type AttachPoint = 'workload' | 'tunnel';
const PROGRAM_OF: Record<AttachPoint, string> = { workload: 'from_workload', tunnel: 'from_tunnel' };

// The datapath's object loaded with its pins: the maps a previous run pinned are reused (their
// entries kept), and so are its programs when this build's are the same. Attached programs and pins
// outlive the process; close() only lets go of our descriptors.
export class BpfDatapath {
  readonly remoteEndpoints: BpfMap<EndpointKey, RemoteEndpoint>;
  readonly localEndpoints: BpfMap<EndpointKey, LocalEndpoint>;
  readonly workloadInterfaces: BpfMap<number, WorkloadInterface>;
  private closed = false;

  private constructor(
    private readonly handle: NativeObject,
    readonly maps: NativeMapInfo[],
    readonly programs: NativeProgramInfo[],
    readonly pinDir: string,
    // Whether this open mounted the BPF filesystem.
    readonly mountedBpffs: boolean,
  ) {
    for (const name of Object.values(PROGRAM_OF))
      if (!programs.some((p) => p.name === name))
        throw new BpfError(
          errno.EINVAL,
          `the BPF object has no program ${name}: the object and the agent are from different builds; run \`npm run build\``,
        );
    this.remoteEndpoints = this.map('remote_eps', remoteEndpointCodec);
    this.localEndpoints = this.map('local_eps', localEndpointCodec);
    this.workloadInterfaces = this.map('workload_ifs', workloadInterfaceCodec);
  }

  static open(options: DatapathOptions = {}): BpfDatapath {
    const objectFile = options.objectFile ?? DATAPATH_OBJECT;
    const pinDir = options.pinDir ?? DEFAULT_PIN_DIR;
    if (!fs.existsSync(objectFile))
      throw new BpfError(
        errno.ENOENT,
        `the BPF object ${objectFile} is missing: run \`npm run build\` (it compiles node-agent/bpf/program with clang; \`npm run setup\` installs clang and libbpf-dev)`,
      );
    const mounted = preparePinDir(options.bpffs ?? BPFFS_ROOT, pinDir);
    let loaded;
    try {
      loaded = nativeBpf().load(objectFile, pinDir);
    } catch (err) {
      throw bpfError(err, 'load');
    }
    try {
      return new BpfDatapath(loaded.handle, loaded.maps, loaded.programs, pinDir, mounted);
    } catch (err) {
      nativeBpf().close(loaded.handle);
      throw err;
    }
  }

  program(point: AttachPoint): NativeProgramInfo {
    return this.programs.find((p) => p.name === PROGRAM_OF[point])!;
  }

  // Puts the point's program at the interface's ingress: attached where there was none, left alone
  // where the same program already is, replaced in one step where another (an older build) is.
  attach(point: AttachPoint, ref: InterfaceRef): AttachResult {
    this.checkOpen();
    return attachProgram(ref, this.handle, this.programs.indexOf(this.program(point)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    nativeBpf().close(this.handle);
  }

  private checkOpen(): void {
    if (this.closed) throw new BpfError(errno.EBADF, `the BPF datapath pinned at ${this.pinDir} is closed`);
  }

  private map<K, V>(name: string, codec: MapCodec<K, V>): BpfMap<K, V> {
    const index = this.maps.findIndex((m) => m.name === name);
    const info = this.maps[index];
    if (!info || info.keySize !== codec.keySize || info.valueSize !== codec.valueSize)
      throw new BpfError(
        errno.EINVAL,
        `the BPF object's map ${name} is ${info ? `${info.keySize}/${info.valueSize} bytes` : 'missing'}, the agent expects ${codec.keySize}/${codec.valueSize}: the object and the agent are from different builds; run \`npm run build\``,
      );
    const native = nativeBpf();
    const backend: MapBackend = {
      update: (key, value) => native.mapUpdate(this.handle, index, key, value),
      delete: (key) => native.mapDelete(this.handle, index, key),
      dump: () => native.mapDump(this.handle, index),
    };
    return new BpfMap(name, codec, backend);
  }
}
