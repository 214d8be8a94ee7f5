import { Keyring, KeyringError } from 'memberlist-ts';
import { writeJsonAtomic } from '../../common/atomic-file';
import { AgentError } from '../agent-errors';
import type { Command__Output } from '../../generated/vxgossip/v1/Command';
import type { KeyringResponse } from '../../generated/vxgossip/v1/KeyringResponse';

// `ctl keys ...` on one agent, as serf's keys command: the keyring memberlist encrypts with is
// changed in place; with a keyring file, the file is rewritten so a restart keeps the change, and
// without one (--encrypt-key) the answer says that it will not.
export class KeyringCommands {
  constructor(
    private readonly keyring: Keyring | undefined,
    private readonly keyringFile: string | undefined,
    private readonly node: string,
  ) {}

  run(command: Command__Output): KeyringResponse {
    const keyring = this.keyring;
    if (!keyring)
      throw new AgentError(
        'failed-precondition',
        'gossip encryption is off on this node: start the agent with --encrypt-key or --keyring-file',
      );
    const key = (k: { key: string } | null | undefined) => {
      const bytes = Buffer.from(k?.key ?? '', 'base64');
      if (bytes.length === 0) throw new AgentError('invalid-argument', 'key: give the key as base64');
      return bytes;
    };
    try {
      if (command.cmd === 'installKey') keyring.install(key(command.installKey));
      else if (command.cmd === 'useKey') keyring.use(key(command.useKey));
      else if (command.cmd === 'removeKey') keyring.remove(key(command.removeKey));
    } catch (err) {
      if (err instanceof KeyringError) throw new AgentError('failed-precondition', err.message);
      throw err;
    }
    const all = keyring.all().map((k) => k.toString('base64'));
    if (command.cmd !== 'listKeys' && this.keyringFile) writeJsonAtomic(this.keyringFile, all);
    return {
      keys: Object.fromEntries(all.map((k) => [k, 1])),
      primaryKeys: { [all[0]]: 1 },
      nodes: 1,
      // Without a file (--encrypt-key) there is nothing to rewrite: the operator must be told.
      unsavedNodes: this.keyringFile ? [] : [this.node],
    };
  }
}
