import * as fs from 'node:fs';

// Network sysctls of the namespace this process runs in (/proc/sys/net is per network namespace).
// Written only when they differ, so a pass that changes nothing writes nothing.
export function ensureSysctl(path: string, value: string): boolean {
  const file = `/proc/sys/${path.replace(/\./g, '/')}`;
  const current = fs.readFileSync(file, 'utf8').trim();
  if (current === value) return false;
  fs.writeFileSync(file, value);
  return true;
}
