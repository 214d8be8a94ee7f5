import { Keyring } from 'memberlist-ts';

// Where the server's gossip keyring is kept: a file for one server, the shared store for replicas.
export interface KeyringStorage {
  current(): string[];
  // Replaces the keys with what `change` makes of them as stored (with replicas: as the store has
  // them at the time, so two replicas' changes do not undo each other).
  update(change: (keys: string[]) => string[]): Promise<void>;
}

// The server's copy of the gossip keyring: what an enrolling host is handed. `ctl keys` changes it
// as it changes every agent's, so a host enrolled after a rotation gets the keys in use.
export class ServerKeyring {
  constructor(private readonly storage: KeyringStorage) {}

  keys(): string[] {
    return this.storage.current();
  }

  apply(command: 'install' | 'use' | 'remove', key: string): Promise<void> {
    const bytes = Buffer.from(key, 'base64');
    return this.storage.update((keys) => {
      const keyring = Keyring.fromBase64(keys);
      if (command === 'install') keyring.install(bytes);
      else if (command === 'use') keyring.use(bytes);
      else keyring.remove(bytes);
      return keyring.all().map((k) => k.toString('base64'));
    });
  }
}
