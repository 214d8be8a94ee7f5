import type { BpfMap, MapEntry } from './bpf-map';
import type { BpfError } from './errors';

export interface SyncResult {
  // Entries created or changed, and entries removed.
  written: number;
  deleted: number;
  // Writes the kernel refused (a full map); the rest of the pass went on.
  failures: BpfError[];
}

// Makes a map hold exactly the desired entries, writing only the differences: one dump, then an
// update per missing or different entry and a delete per entry nobody wants (including any that
// does not even decode). A pass over a map already in that state writes nothing.
export function syncMap<K, V>(map: BpfMap<K, V>, desired: Iterable<MapEntry<K, V>>): SyncResult {
  const wanted = new Map<string, { key: Buffer; value: Buffer }>();
  for (const { key, value } of desired) {
    const k = map.codec.encodeKey(key);
    wanted.set(k.toString('hex'), { key: k, value: map.codec.encodeValue(value) });
  }
  const kernel = map.dumpRaw();
  const result: SyncResult = { written: 0, deleted: 0, failures: [] };
  const attempt = (write: () => unknown, count: 'written' | 'deleted') => {
    try {
      write();
      result[count]++;
    } catch (err) {
      result.failures.push(err as BpfError);
    }
  };
  for (const [hex, { key, value }] of wanted) {
    if (!kernel.get(hex)?.equals(value)) attempt(() => map.setRaw(key, value), 'written');
  }
  for (const hex of kernel.keys()) {
    if (!wanted.has(hex)) attempt(() => map.deleteRaw(Buffer.from(hex, 'hex')), 'deleted');
  }
  return result;
}
