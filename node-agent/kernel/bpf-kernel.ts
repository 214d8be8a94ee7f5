import * as fs from 'node:fs';
import { BpfDatapath, DEFAULT_PIN_DIR, DatapathOptions, attachedProgram, detachProgram, removePins } from '../bpf';
import type { BpfKernel } from './bpf-datapath-writer';

// The BPF datapath writer's port onto node-agent/bpf, for this network namespace's interfaces.
export function bpfKernel(options: DatapathOptions = {}): BpfKernel {
  const pinDir = options.pinDir ?? DEFAULT_PIN_DIR;
  return {
    open: () => BpfDatapath.open(options),
    pinned: () => fs.existsSync(pinDir),
    removePins: () => removePins(pinDir),
    carries: (ifindex) => attachedProgram({ interface: ifindex }) !== undefined,
    detach: (ifindex) => void detachProgram({ interface: ifindex }),
  };
}
