import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../atomic-file';
import { AttachmentKey, CONTAINER_ID_MAX, checkContainerId } from './protocol';
import { checkInterfaceName, checkVniId } from '../validation';

// Deletions the plugin could not hand to the agent (it was down), replayed by the agent when it
// starts, as Cilium's deleteQueue is: a runtime's DEL must succeed while the agent is away, and the
// address and the veth must still go. One file per attachment (a repeated DEL rewrites it), written
// atomically so the agent never reads half of one.
export const MAX_QUEUED_DELETES = 10_000;
const MAX_ENTRY_BYTES = 1024 + CONTAINER_ID_MAX;
const SUFFIX = '.json';

export interface QueuedDelete extends AttachmentKey {
  queuedAt: string;
}

const fileOf = (dir: string, key: AttachmentKey) =>
  path.join(
    dir,
    createHash('sha256').update(`${key.vni}/${key.containerId}/${key.ifname}`).digest('hex').slice(0, 32) + SUFFIX,
  );

const entries = (dir: string): string[] => {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith(SUFFIX));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
};

export function queueDelete(dir: string, key: AttachmentKey, now = new Date()): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = fileOf(dir, key);
  if (!fs.existsSync(file) && entries(dir).length >= MAX_QUEUED_DELETES)
    throw new Error(
      `the delete queue ${dir} already holds ${MAX_QUEUED_DELETES} deletions: start the vxgossip agent so it replays them`,
    );
  const entry: QueuedDelete = {
    vni: key.vni,
    containerId: key.containerId,
    ifname: key.ifname,
    queuedAt: now.toISOString(),
  };
  writeJsonAtomic(file, entry);
  return file;
}

export function unqueueDelete(dir: string, key: AttachmentKey): void {
  fs.rmSync(fileOf(dir, key), { force: true });
}

// Every queued deletion, oldest first; an entry that is not one (too large, not JSON, bad fields) is
// reported with its file so the agent can log it and move it aside.
export function readDeleteQueue(dir: string): Array<{ file: string; entry?: QueuedDelete; error?: string }> {
  const out = entries(dir)
    .slice(0, MAX_QUEUED_DELETES)
    .map((name) => {
      const file = path.join(dir, name);
      try {
        if (fs.statSync(file).size > MAX_ENTRY_BYTES) throw new Error(`larger than ${MAX_ENTRY_BYTES} bytes`);
        const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<QueuedDelete>;
        const entry: QueuedDelete = {
          vni: checkVniId(raw.vni, 'vni'),
          containerId: checkContainerId(raw.containerId),
          ifname: checkInterfaceName('ifname', String(raw.ifname)),
          queuedAt: String(raw.queuedAt ?? ''),
        };
        return { file, entry };
      } catch (err) {
        return { file, error: (err as Error).message };
      }
    });
  return out.sort((a, b) => (a.entry?.queuedAt ?? '').localeCompare(b.entry?.queuedAt ?? ''));
}
