import type { Keyring } from 'memberlist-ts';
import { reloadOnSignal } from '../common/config-reload';
import { loadDaemonConfig, withOriginOf, type DaemonConfig } from '../common/daemon-config';
import { logSettingsOf, type Fields, type RootLogger } from '../common/log';
import type { Agent } from './agent';
import { AGENT_CONFIG, LIVE, type OPTIONS } from './agent-flags';
import { readKeyringFile, syncKeyring } from './gossip/keyring-file';
import { duplicateOptions } from './state/duplicate-flags';

export interface ReloadTargets {
  argv: string[];
  config: DaemonConfig<typeof OPTIONS>;
  log: RootLogger;
  agent: Agent;
  // The keyring gossip encrypts with and the file it came from, when there is one.
  keyring?: Keyring;
  keyringFile?: string;
}

// SIGHUP on the agent: the log, the duplicate detection bounds and the keyring file's keys, all
// checked before any is applied.
export function reloadAgentOnHangup(targets: ReloadTargets): void {
  const { argv, log, agent, keyring, keyringFile } = targets;
  let latest = targets.config;
  reloadOnSignal({
    current: latest.values,
    load: () => (latest = loadDaemonConfig(AGENT_CONFIG, argv, process.env)).values,
    live: LIVE,
    prepare: (next, plan) => {
      const settings = withOriginOf(latest, () => logSettingsOf(next));
      const duplicates = withOriginOf(latest, () => duplicateOptions(next));
      const wanted = keyring && keyringFile ? readKeyringFile(keyringFile) : undefined;
      return () => {
        log.reconfigure(settings);
        if (plan.live.some((c) => c.key.startsWith('dup-'))) agent.reconfigureDuplicates(duplicates);
        const extra: Fields = {};
        if (keyring && wanted) {
          const changed = syncKeyring(keyring, wanted);
          if (changed.installed + changed.removed > 0 || changed.primaryChanged)
            extra.keyring = { file: keyringFile, ...changed };
        }
        return extra;
      };
    },
    log,
  });
}
