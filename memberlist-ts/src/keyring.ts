// The gossip keyring: key 0 (the primary) encrypts, every key is tried to decrypt, so keys can be
// rotated cluster-wide without a partition: install everywhere, use everywhere, remove the old one.
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

const VALID_LENGTHS = [16, 24, 32];

function checkKey(key: Buffer): Buffer {
  if (!VALID_LENGTHS.includes(key.length))
    throw new KeyringError(`a key must be 16, 24 or 32 bytes (AES-128/192/256), got ${key.length}`);
  return Buffer.from(key);
}

export class Keyring {
  private keys: Buffer[];

  constructor(keys: Buffer[], primary?: Buffer) {
    this.keys = keys.map(checkKey);
    if (primary) {
      this.install(primary);
      this.use(primary);
    }
    if (this.keys.length === 0) throw new KeyringError('a keyring needs at least one key');
  }

  static fromBase64(keys: string[]): Keyring {
    return new Keyring(keys.map((k) => Buffer.from(k, 'base64')));
  }

  get primary(): Buffer {
    return this.keys[0];
  }

  all(): Buffer[] {
    return [...this.keys];
  }

  install(key: Buffer): void {
    const k = checkKey(key);
    if (!this.keys.some((x) => x.equals(k))) this.keys.push(k);
  }

  use(key: Buffer): void {
    const i = this.keys.findIndex((x) => x.equals(key));
    if (i < 0) throw new KeyringError('the key is not installed; install it first');
    const [k] = this.keys.splice(i, 1);
    this.keys.unshift(k);
  }

  remove(key: Buffer): void {
    const i = this.keys.findIndex((x) => x.equals(key));
    if (i === 0) throw new KeyringError('the primary key cannot be removed; use another key first');
    if (i > 0) this.keys.splice(i, 1);
  }
}
