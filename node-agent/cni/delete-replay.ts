import * as fs from 'node:fs';
import type { Logger } from '../../common/log';
import { readDeleteQueue } from '../../common/cni/delete-queue';
import type { CniAttachments } from './cni-attachments';

// The deletions the plugin queued while the agent was down, done before the agent serves the socket
// again (so no ADD of a reused container ID can come first). A deletion that fails stays queued for
// the next start; an entry that is not one is moved aside, named in the log.
export async function replayDeletes(dir: string, attachments: CniAttachments, log: Logger): Promise<number> {
  let done = 0;
  for (const { file, entry, error } of readDeleteQueue(dir)) {
    if (!entry) {
      log.error('not a queued CNI deletion; moved aside', { file, error });
      fs.renameSync(file, `${file}.bad`);
      continue;
    }
    try {
      await attachments.del(entry);
      fs.rmSync(file, { force: true });
      done++;
    } catch (err) {
      log.error('a queued CNI deletion failed; it stays queued for the next start', {
        ...entry,
        error: (err as Error).message,
      });
    }
  }
  if (done > 0) log.info('replayed CNI deletions queued while the agent was down', { deletions: done, dir });
  return done;
}
