import { bpfError } from './errors';
import type { MapCodec } from './map-codec';

// How a map is reached: the addon for a loaded object, an in-memory table in unit tests.
export interface MapBackend {
  update(key: Buffer, value: Buffer): void;
  // Whether there was such an entry.
  delete(key: Buffer): boolean;
  // Every entry: keys and values back to back.
  dump(): { count: number; keys: Buffer; values: Buffer };
}

export interface MapEntry<K, V> {
  key: K;
  value: V;
}

// One pinned map of the datapath, typed by its codec. Writes go straight to the kernel (the programs
// see them at once); a write the kernel refuses throws a BpfError naming the map.
export class BpfMap<K, V> {
  constructor(
    readonly name: string,
    readonly codec: MapCodec<K, V>,
    private readonly backend: MapBackend,
  ) {}

  set(key: K, value: V): void {
    this.setRaw(this.codec.encodeKey(key), this.codec.encodeValue(value));
  }

  delete(key: K): boolean {
    return this.deleteRaw(this.codec.encodeKey(key));
  }

  dump(): MapEntry<K, V>[] {
    return [...this.dumpRaw()].map(([key, value]) => ({
      key: this.codec.decodeKey(Buffer.from(key, 'hex')),
      value: this.codec.decodeValue(value),
    }));
  }

  // The kernel's entries as bytes, keyed by the key's hex: what a reconciliation compares, so that an
  // entry it cannot decode (written by hand) is still seen, and removed.
  dumpRaw(): Map<string, Buffer> {
    let dumped;
    try {
      dumped = this.backend.dump();
    } catch (err) {
      throw bpfError(err, 'map');
    }
    const { keySize, valueSize } = this.codec;
    const entries = new Map<string, Buffer>();
    for (let i = 0; i < dumped.count; i++) {
      const key = dumped.keys.subarray(i * keySize, (i + 1) * keySize).toString('hex');
      entries.set(key, dumped.values.subarray(i * valueSize, (i + 1) * valueSize));
    }
    return entries;
  }

  setRaw(key: Buffer, value: Buffer): void {
    try {
      this.backend.update(key, value);
    } catch (err) {
      throw bpfError(err, 'map');
    }
  }

  deleteRaw(key: Buffer): boolean {
    try {
      return this.backend.delete(key);
    } catch (err) {
      throw bpfError(err, 'map');
    }
  }
}
