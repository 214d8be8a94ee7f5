import type { BpfMap, MapEntry } from './bpf-map';
import type { BpfError } from './errors';

export interface SyncResult {
  // Entries created or changed, and entries removed.
  written: number;
  deleted: number;
  // Writes the kernel refused (a full map); the rest of the pass went on.
  failures: BpfError[];
  // The keys (hex) of the entries those refused writes were for.
  failedKeys: string[];
  // Of those written and removed, what changed out of band since `previous` (see SyncOptions).
  repaired: number;
}

// A map's desired entries as the kernel holds them: bytes, keyed by the key's hex.
export type EncodedEntries = Map<string, { key: Buffer; value: Buffer }>;

export interface SyncOptions {
  // False during an agent's restart grace period: entries nobody wants (yet) stay.
  remove?: boolean;
  // What the last sync made the map hold: an entry of it written again, or an entry outside it
  // removed, had changed behind our back (a repair).
  previous?: EncodedEntries;
}

export function encodeEntries<K, V>(map: BpfMap<K, V>, desired: Iterable<MapEntry<K, V>>): EncodedEntries {
  const wanted: EncodedEntries = new Map();
  for (const { key, value } of desired) {
    const k = map.codec.encodeKey(key);
    wanted.set(k.toString('hex'), { key: k, value: map.codec.encodeValue(value) });
  }
  return wanted;
}

// Makes a map hold exactly the desired entries, writing only the differences: one dump, then an
// update per missing or different entry and a delete per entry nobody wants (including any that
// does not even decode). A pass over a map already in that state writes nothing.
export function syncMap<K, V>(
  map: BpfMap<K, V>,
  desired: Iterable<MapEntry<K, V>>,
  options: SyncOptions = {},
): SyncResult {
  return syncEncoded(map, encodeEntries(map, desired), options);
}

// syncMap with the desired entries encoded beforehand (a periodic check compares the same ones often).
export function syncEncoded<K, V>(map: BpfMap<K, V>, wanted: EncodedEntries, options: SyncOptions = {}): SyncResult {
  const kernel = map.dumpRaw();
  const result: SyncResult = { written: 0, deleted: 0, failures: [], failedKeys: [], repaired: 0 };
  const { previous } = options;
  const attempt = (hex: string, write: () => unknown, count: 'written' | 'deleted') => {
    try {
      write();
      result[count]++;
      const ours = previous?.get(hex);
      if (previous && (count === 'deleted' ? !ours : ours?.value.equals(wanted.get(hex)!.value))) result.repaired++;
    } catch (err) {
      result.failures.push(err as BpfError);
      result.failedKeys.push(hex);
    }
  };
  for (const [hex, { key, value }] of wanted) {
    if (!kernel.get(hex)?.equals(value)) attempt(hex, () => map.setRaw(key, value), 'written');
  }
  if (options.remove === false) return result;
  for (const hex of kernel.keys()) {
    if (!wanted.has(hex)) attempt(hex, () => map.deleteRaw(Buffer.from(hex, 'hex')), 'deleted');
  }
  return result;
}
