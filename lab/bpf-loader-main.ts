// A process that does what an agent's start would do with the BPF datapath, then exits: open (pins
// reused), attach, fill the maps. Reads a LoaderSpec (lab/bpf-topology.ts) as JSON on stdin and prints
// what it did as JSON on stdout. Tests use it to show that pins and attachments outlive the process
// that made them.
import * as fs from 'node:fs';
import { BpfDatapath } from '../node-agent/bpf/datapath';
import { syncMap } from '../node-agent/bpf/map-sync';
import type { LoaderSpec } from './bpf-topology';

const spec = JSON.parse(fs.readFileSync(0, 'utf8')) as LoaderSpec;
const datapath = BpfDatapath.open(spec);
try {
  const attached = spec.attach.map((a) => ({
    ...a,
    ...datapath.attach(a.point, { interface: a.interface, netns: a.netns }),
  }));
  const synced = {
    interfaces: syncMap(datapath.workloadInterfaces, spec.interfaces),
    local: syncMap(datapath.localEndpoints, spec.local),
    remote: syncMap(datapath.remoteEndpoints, spec.remote),
  };
  const failures = Object.values(synced).flatMap((s) => s.failures.map((f) => f.message));
  if (failures.length > 0) throw new Error(`map writes refused: ${failures.join('; ')}`);
  process.stdout.write(
    JSON.stringify({
      mountedBpffs: datapath.mountedBpffs,
      maps: datapath.maps,
      programs: datapath.programs,
      attached,
      synced,
    }),
  );
} finally {
  datapath.close();
}
