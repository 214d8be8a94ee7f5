import { Keyring } from 'memberlist-ts';
import { writeJsonAtomic } from '../../common/atomic-file';

// The server's copy of the gossip keyring: what an enrolling host is handed. `ctl keys` changes it
// as it changes every agent's, so a host enrolled after a rotation gets the keys in use.
export class ServerKeyring {
  private readonly keyring: Keyring;

  constructor(
    keys: string[],
    private readonly file: string,
  ) {
    this.keyring = Keyring.fromBase64(keys);
  }

  keys(): string[] {
    return this.keyring.all().map((k) => k.toString('base64'));
  }

  apply(command: 'install' | 'use' | 'remove', key: string): void {
    const bytes = Buffer.from(key, 'base64');
    if (command === 'install') this.keyring.install(bytes);
    else if (command === 'use') this.keyring.use(bytes);
    else this.keyring.remove(bytes);
    writeJsonAtomic(this.file, this.keys());
  }
}
