// Distinct, locally administered MACs from a counter, for benchmarks that need many: the counter
// fills bytes 2-5, and `last` tells one benchmark's MACs from another's.
export function numberedMac(i: number, last = 0): string {
  return `02:${[(i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff, last].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

// The counter a numberedMac was made from.
export function macNumber(mac: string): number {
  return parseInt(mac.slice(3, 14).replaceAll(':', ''), 16);
}
