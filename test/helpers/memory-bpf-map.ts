import type { MapBackend } from '../../node-agent/bpf/bpf-map';

// A BPF map in memory that counts what is written to it, like the kernel's would be.
export class MemoryBpfMap implements MapBackend {
  readonly table = new Map<string, Buffer>();
  writes = 0;
  refuse?: Error & { errno?: number };

  update(key: Buffer, value: Buffer): void {
    if (this.refuse) throw this.refuse;
    this.writes++;
    this.table.set(key.toString('hex'), Buffer.from(value));
  }

  delete(key: Buffer): boolean {
    this.writes++;
    return this.table.delete(key.toString('hex'));
  }

  dump() {
    const keys = [...this.table.keys()].map((k) => Buffer.from(k, 'hex'));
    return { count: keys.length, keys: Buffer.concat(keys), values: Buffer.concat([...this.table.values()]) };
  }
}
