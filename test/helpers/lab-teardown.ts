import type { LabNetwork } from '../../lab/network';
import { removeTempDir } from '../../lab/temp-dir';

// The hooks of a suite that runs one lab: a failed test prints the logs of every host's processes,
// and at the end the lab (its processes first) and the suite's data dir go, also after a failure.
export function tearDownLab(lab: () => LabNetwork | undefined, dataDir: string): void {
  afterEach(function () {
    const current = lab();
    if (this.currentTest?.state === 'failed' && current)
      console.error(current.hosts.map((h) => h.logsOfProcesses()).join('\n'));
  });
  after(async () => {
    await lab()?.destroy();
    removeTempDir(dataDir);
  });
}
