import { execFileSync } from 'node:child_process';
import { isIPv4 } from 'node:net';

// A partition made where a switch would make it: nftables rules on the lab's underlay bridge (its own
// namespace) drop the IPv4 frames it forwards between the cut addresses and the others. Both sides see
// silence, as on a real network (no EPERM from an output rule, no reset), no process is touched, and
// healing is deleting one table. Never netem: delay and loss are not what a partition is.
const TABLE = 'bridge vxgossip_partition';

function addressList(what: string, addresses: string[]): string {
  if (addresses.length === 0) throw new Error(`partition: no ${what} addresses given`);
  for (const a of addresses)
    if (!isIPv4(a)) throw new Error(`partition: ${what} "${a}" is not an IPv4 address of the lab's underlay`);
  return `{ ${addresses.join(', ')} }`;
}

// The nft script that cuts `cut` off from `from` (from everyone when `from` is omitted). Adds to what
// earlier cuts made: the table and chain are created only when missing.
export function partitionScript(cut: string[], from?: string[]): string {
  const c = addressList('cut', cut);
  const rules = from
    ? [
        `ip saddr ${c} ip daddr ${addressList('from', from)} drop`,
        `ip saddr ${addressList('from', from)} ip daddr ${c} drop`,
      ]
    : [`ip saddr ${c} drop`, `ip daddr ${c} drop`];
  return [
    `add table ${TABLE}`,
    `add chain ${TABLE} forward { type filter hook forward priority filter; policy accept; }`,
    ...rules.map((r) => `add rule ${TABLE} forward ${r}`),
    '',
  ].join('\n');
}

// Deletes every cut; adding the table first makes it succeed when there was none.
export const HEAL_SCRIPT = `add table ${TABLE}\ndelete table ${TABLE}\n`;

export function runNft(netns: string, script: string): void {
  try {
    execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], {
      input: script,
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: 10_000,
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`nft in ${netns} failed: ${e.stderr?.toString().trim() || e.message}\nscript:\n${script}`);
  }
}
